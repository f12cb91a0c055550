// `medbot agent -m` end to end: the real CLI as a child process, against the fake provider.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
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
});
