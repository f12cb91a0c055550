// `medbot agent -m` end to end: the real CLI as a child process, against the fake provider.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { freePort } from "../support/gateway-process.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

describe("medbot agent -m", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(() => fake.close());

  it("prints the model's reply and exits 0", async () => {
    const home = tempHome();
    writeConfig(home, fakeProviderConfig(fake.url));
    fake.enqueue({ content: "Hello from the fake model" });
    const result = await runMedbot(["agent", "-m", "hi"], { home });
    expect(result.stdout).toBe("Hello from the fake model\n");
    expect(result.code).toBe(0);
    const request = fake.chatRequests.at(-1)!;
    expect(request.headers.authorization).toBe("Bearer test-key");
    expect(request.body.model).toBe("fake-model");
    expect(request.body.messages.at(-1)?.content).toMatch(/channel cli · chat default\]\nhi$/);
  });

  it("runs a tool call and returns the final answer only", async () => {
    const home = tempHome();
    writeConfig(home, fakeProviderConfig(fake.url));
    fake.enqueue({ toolCalls: [{ name: "list_dir", arguments: { path: "." } }] }, { content: "final" });
    const result = await runMedbot(["agent", "-m", "what is in the workspace?"], { home });
    expect(result.stdout).toBe("final\n");
    const toolMessage = fake.chatRequests.at(-1)!.body.messages.at(-1)!;
    expect(toolMessage.role).toBe("tool");
  });

  it("without a configured provider exits non-zero and says how to configure one", async () => {
    const home = tempHome();
    writeConfig(home, { agents: { defaults: { model: "some-model" } } });
    const before = fake.requests.length;
    const result = await runMedbot(["agent", "-m", "hi"], { home });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/No model provider is configured\. Run `medbot onboard`/);
    expect(result.stderr).toContain("MEDBOT_PROVIDERS__<NAME>__API_KEY");
    expect(result.stdout).toBe("");
    expect(fake.requests.length).toBe(before);
    expect(fs.existsSync(path.join(home, "workspace"))).toBe(false);
  });

  it("exits 1 and names the refused connection and the API base when nothing listens there", async () => {
    const home = tempHome();
    const apiBase = `http://127.0.0.1:${await freePort()}/v1`;
    writeConfig(home, fakeProviderConfig(apiBase));
    const result = await runMedbot(["agent", "-m", "hi"], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`connection refused at API base ${apiBase}`);
    expect(result.stderr).toContain("providers.custom.apiBase");
    expect(result.stdout).toBe("");
  });

  it("exits 1 and says the key was rejected on a 401", async () => {
    const home = tempHome();
    writeConfig(home, fakeProviderConfig(fake.url));
    fake.enqueue({ status: 401, body: { error: { message: "Incorrect API key provided" } } });
    const result = await runMedbot(["agent", "-m", "hi"], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the API key was rejected (HTTP 401) at API base ${fake.url}`);
    expect(result.stderr).toContain("providers.custom.apiKey");
    expect(result.stdout).toBe("");
  });

  it("exits 1 and names the model the provider does not know", async () => {
    const home = tempHome();
    writeConfig(home, fakeProviderConfig(fake.url));
    fake.enqueue({
      status: 404,
      body: { error: { message: "The model `fake-model` does not exist", code: "model_not_found" } },
    });
    const result = await runMedbot(["agent", "-m", "hi"], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('model "fake-model" not found (HTTP 404)');
    expect(result.stderr).toContain("agents.defaults.model");
  });
});
