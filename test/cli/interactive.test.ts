// The interactive faces of the CLI: onboard asking its questions on a terminal, and the chat loop.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { fakeProviderConfig, MEDBOT_BIN, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

/** Runs medbot on a pseudo-terminal (util-linux `script`), typing `input` ahead. */
function runOnTerminal(args: string[], home: string, input: string): Promise<string> {
  const command = [process.execPath, MEDBOT_BIN, ...args].map((a) => `'${a}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { ...process.env, MEDBOT_HOME: home, MEDBOT_ALLOW_ROOT: "1" },
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", reject);
    child.on("close", () => resolve(output));
    child.stdin.end(input);
  });
}

describe("interactive use", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(() => fake.close());

  it.skipIf(!fs.existsSync("/usr/bin/script"))(
    "onboard asks for provider, key, base and model on a terminal",
    async () => {
      const home = tempHome();
      const output = await runOnTerminal(["onboard"], home, `custom\nsk-typed\n${fake.url}\ntyped-model\n`);
      expect(output).toContain("Provider [openrouter]:");
      expect(output).toContain("API key");
      const config = JSON.parse(fs.readFileSync(path.join(home, "config.json"), "utf8"));
      expect(config.providers.custom).toMatchObject({ apiKey: "sk-typed", apiBase: fake.url });
      expect(config.agents.defaults).toMatchObject({ provider: "custom", model: "typed-model" });
    },
  );

  it("chat reads messages line by line until exit, keeping one conversation", async () => {
    const home = tempHome();
    writeConfig(home, fakeProviderConfig(fake.url));
    const before = fake.chatRequests.length;
    const result = await runMedbot(["agent"], {
      home,
      input: "first message\nsecond message\nexit\nnever sent\n",
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("medbot> echo: first message");
    expect(result.stdout).toContain("medbot> echo: second message");
    expect(result.stdout).not.toContain("never sent");
    const requests = fake.chatRequests.slice(before);
    expect(requests).toHaveLength(2);
    const contents = requests[1]!.body.messages.map((m) => m.content ?? "");
    expect(contents.some((c) => c.endsWith("first message"))).toBe(true);
  });
});
