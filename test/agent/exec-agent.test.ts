// exec through the agent and the real `medbot agent` CLI, against the fake model on 127.0.0.1: a misled model's
// command edits no allergy and reads no key from the process environment; without bwrap exec is not offered
// and the agent says why. (The tool's own checks are in exec-tool.test.ts.)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { fakeProviderConfig, runMedbot, writeConfig } from "../support/medbot-cli.js";
import { hidden } from "../support/shell.js";
import { startAgent, toolResultsIn } from "./harness.js";

let root: string;
let noBwrap: string;
beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-exec-agent-")));
  noBwrap = path.join(root, "no-bwrap");
  fs.mkdirSync(noBwrap);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("through the agent", () => {
  it("a misled model's exec edits no allergy and the turn goes on", async () => {
    const h = await startAgent({ toolsConfig: { exec: { enabled: true } } });
    try {
      const owner = hostOwner("test");
      h.agent.archive.addMember(owner, { displayName: "Dad", aliases: [], relationship: "father" });
      const allergy = { category: "drug_allergy" as const, text: "penicillin", details: null, since: null };
      h.agent.archive.add(owner, "Dad", "facts", allergy, "reported");
      const command = `sqlite3 medbot\\.db "UPDATE facts SET text = 'no known allergies'"; r\\m -rf *`;
      h.fake.enqueue({ toolCalls: [{ name: "exec", arguments: { command } }] }, { content: "done" });
      expect(await h.send("tidy up the workspace")).toBe("done");
      expect(toolResultsIn(h.fake.chatRequests[1]!)[0]).toMatch(/no such table: facts/);
      expect(h.agent.archive.current(owner, "Dad", "facts").map((f) => f.text)).toEqual(["penicillin"]);
      expect(h.warnings).toEqual([]);
    } finally {
      await h.close();
    }
  });
});

describe("end to end: medbot agent -m, keys in its environment", () => {
  let fake: FakeOpenAI;
  let home: string;
  // As systemd starts the gateway with gateway.env: the provider key and bot token in the process environment.
  const keys = { PROVIDER_KEY: "sk-live-from-gateway-env", TELEGRAM_BOT_TOKEN: "123456:bot-token-from-env" };
  beforeEach(async () => {
    fake = await FakeOpenAI.start();
    home = path.join(root, "data");
    writeConfig(home, {
      ...fakeProviderConfig(fake.url),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is config syntax, filled from the environment
      providers: { custom: { apiKey: "${PROVIDER_KEY}", apiBase: fake.url } },
      tools: { exec: { enabled: true } },
    });
  });
  afterEach(() => fake.close());

  it("a command cannot read them from its parent's /proc/<pid>/environ, /proc/1 or any other process", async () => {
    const command = `cd ${hidden("/proc")} && cat $PPID/environ 1/environ; for f in */environ; do cat "$f"; done; echo read`;
    fake.enqueue({ toolCalls: [{ name: "exec", arguments: { command } }] }, { content: "done" });
    const result = await runMedbot(["agent", "-m", "check the machine"], { home, env: keys });
    expect(result.stdout).toBe("done\n");
    const output = toolResultsIn(fake.chatRequests[1]!)[0] ?? "";
    for (const value of Object.values(keys)) expect(output).not.toContain(value);
    expect(output).toMatch(/read\nexit code 0$/);
  });

  it("without bwrap on PATH, says why on stderr and does not offer exec", async () => {
    fake.enqueue({ content: "hello" });
    const result = await runMedbot(["agent", "-m", "hi"], { home, env: { ...keys, PATH: noBwrap } });
    expect(result.stdout).toBe("hello\n");
    expect(result.stderr).toMatch(/medbot: exec needs bubblewrap .*apt-get install bubblewrap/);
    expect(fake.chatRequests[0]?.body.tools?.map((t) => t.function.name)).not.toContain("exec");
  });
});

describe("without bubblewrap on PATH", () => {
  let savedPath: string | undefined;
  beforeEach(() => {
    savedPath = process.env.PATH;
    process.env.PATH = noBwrap;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
  });

  it("the agent says why at start, and does not offer exec to the model", async () => {
    const h = await startAgent({ toolsConfig: { exec: { enabled: true } } });
    try {
      expect(h.warnings).toEqual([
        expect.stringMatching(/exec needs bubblewrap.*apt-get install bubblewrap/),
      ]);
      h.fake.enqueue({ content: "hello" });
      expect(await h.send("hi")).toBe("hello");
      const offered = h.fake.chatRequests[0]?.body.tools?.map((t) => t.function.name) ?? [];
      expect(offered).not.toContain("exec");
      expect(offered.length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});
