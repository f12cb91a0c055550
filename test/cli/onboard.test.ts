// `medbot onboard`: creates a private config and workspace, keeps what the user has, resets with --force.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in these strings is config syntax under test
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePaths } from "../../src/config/paths.js";
import { configSchema } from "../../src/config/schema.js";
import { CONFIG_SCHEMA_URL, onboard, TEMPLATE_DIR } from "../../src/setup/workspace.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import {
  modesUnder,
  notPrivateUnder,
  type RunResult,
  runMedbot,
  tempHome,
  writeConfig,
} from "../support/medbot-cli.js";

const TEMPLATES = ["AGENTS.md", "SOUL.md", "USER.md", "HEARTBEAT.md", path.join("memory", "MEMORY.md")];

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));
const template = (name: string) => fs.readFileSync(path.join(TEMPLATE_DIR, name), "utf8");

describe("medbot onboard --yes under umask 000", () => {
  let fake: FakeOpenAI;
  let home: string;
  let onboarded: RunResult;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    home = path.join(tempHome(), "medbot-data");
    onboarded = await runMedbot(
      ["onboard", "--yes", "--provider", "custom", "--api-base", fake.url, "--model", "fake-model"],
      { home, umask: "000" },
    );
  });
  afterAll(() => fake.close());

  it("exits 0 and says where the config and the workspace are", () => {
    expect(onboarded.stderr).not.toMatch(/error/i);
    expect(onboarded.code).toBe(0);
    expect(onboarded.stdout).toContain(`Config:    ${path.join(home, "config.json")} (0600)`);
    expect(onboarded.stdout).toContain(`Workspace: ${path.join(home, "workspace")} (0700)`);
    expect(onboarded.stdout).toContain("Provider custom, model fake-model.");
  });

  it("writes a config the schema accepts, with the flags and $schema pointing at config.schema.json", () => {
    const config = readJson(path.join(home, "config.json"));
    expect(configSchema.safeParse(config).success).toBe(true);
    expect(config.$schema).toBe(CONFIG_SCHEMA_URL);
    expect(config.$schema).toMatch(/^file:\/\/.*\/config\.schema\.json$/);
    expect(fs.existsSync(fileURLToPath(config.$schema))).toBe(true);
    expect(config.providers).toEqual({ custom: { apiKey: "", apiBase: fake.url } });
    expect(config.agents.defaults).toMatchObject({ provider: "custom", model: "fake-model" });
  });

  it("copies the workspace templates, AGENTS.md with the privacy and record-capture rules", () => {
    for (const name of TEMPLATES) {
      expect(fs.readFileSync(path.join(home, "workspace", name), "utf8")).toBe(template(name));
    }
    const agents = fs.readFileSync(path.join(home, "workspace", "AGENTS.md"), "utf8");
    expect(agents).toMatch(/stays on this machine/);
    expect(agents).toMatch(/minimum/);
    expect(agents).toMatch(/identifying text into web lookups/);
    expect(agents).toMatch(/## Capture what you hear/);
  });

  it("creates the data folder and every folder in it 0700, every file 0600", () => {
    const entries = modesUnder(home);
    expect(entries.map((e) => e.path)).toEqual(
      expect.arrayContaining([".", "config.json", "workspace", "workspace/memory", "workspace/medbot.db"]),
    );
    expect(notPrivateUnder(home)).toEqual([]);
  });

  describe("then an agent turn under umask 000", () => {
    let turn: RunResult;
    beforeAll(async () => {
      fake.enqueue({ content: "Noted." });
      turn = await runMedbot(["agent", "-m", "hello"], {
        home,
        umask: "000",
        env: { MEDBOT_PROVIDERS__CUSTOM__API_KEY: "sk-from-env" },
      });
    });

    it("answers, with the key from MEDBOT_PROVIDERS__CUSTOM__API_KEY over the empty one onboard wrote", () => {
      expect(turn.stdout).toBe("Noted.\n");
      expect(turn.code).toBe(0);
      expect(fake.chatRequests.at(-1)?.headers.authorization).toBe("Bearer sk-from-env");
      expect(readJson(path.join(home, "config.json")).providers.custom.apiKey).toBe("");
    });

    it("still leaves every folder 0700 and every file 0600, the database's files included", () => {
      const entries = modesUnder(home).map((e) => e.path);
      expect(entries).toContain("workspace/medbot.db");
      expect(notPrivateUnder(home)).toEqual([]);
    });
  });
});

describe("medbot onboard run again", () => {
  let home: string;
  let second: RunResult;
  let firstToken: string;
  const workspace = (...parts: string[]) => path.join(home, "workspace", ...parts);
  beforeAll(async () => {
    home = tempHome();
    const first = await runMedbot(
      ["onboard", "--yes", "--provider", "openrouter", "--api-key", "sk-first", "--model", "model-one"],
      { home },
    );
    expect(first.code).toBe(0);
    const config = readJson(path.join(home, "config.json"));
    firstToken = config.channels.whatsapp.bridgeToken;
    config.gateway.port = 19000;
    writeConfig(home, config);
    fs.writeFileSync(workspace("AGENTS.md"), "# Our own rules\n");
    fs.writeFileSync(workspace("memory", "MEMORY.md"), "- Dad prefers morning reminders\n");
    second = await runMedbot(["onboard", "--yes", "--model", "model-two"], { home });
  });

  it("keeps the API key of the first run and applies the new model", () => {
    expect(second.code).toBe(0);
    const config = readJson(path.join(home, "config.json"));
    expect(config.providers.openrouter.apiKey).toBe("sk-first");
    expect(config.agents.defaults).toMatchObject({ provider: "openrouter", model: "model-two" });
  });

  it("generated a WhatsApp bridge token once, and keeps it", () => {
    expect(firstToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readJson(path.join(home, "config.json")).channels.whatsapp.bridgeToken).toBe(firstToken);
  });

  it("keeps a value the user changed in config.json", () => {
    expect(readJson(path.join(home, "config.json")).gateway.port).toBe(19000);
  });

  it("keeps the user's AGENTS.md and memory, and says so", () => {
    expect(fs.readFileSync(workspace("AGENTS.md"), "utf8")).toBe("# Our own rules\n");
    expect(fs.readFileSync(workspace("memory", "MEMORY.md"), "utf8")).toBe(
      "- Dad prefers morning reminders\n",
    );
    expect(second.stdout).toMatch(/Kept: .*AGENTS\.md/);
  });

  it("with --force resets the config and the templates but keeps memory/MEMORY.md", async () => {
    const forced = await runMedbot(
      ["onboard", "--yes", "--force", "--provider", "ollama", "--model", "qwen3"],
      {
        home,
      },
    );
    expect(forced.code).toBe(0);
    const config = readJson(path.join(home, "config.json"));
    expect(config.gateway.port).toBe(18790);
    expect(config.providers).toEqual({ ollama: { apiKey: "" } });
    expect(config.agents.defaults).toMatchObject({ provider: "ollama", model: "qwen3" });
    expect(fs.readFileSync(workspace("AGENTS.md"), "utf8")).toBe(template("AGENTS.md"));
    expect(fs.readFileSync(workspace("memory", "MEMORY.md"), "utf8")).toBe(
      "- Dad prefers morning reminders\n",
    );
  });
});

describe("medbot onboard with a config it cannot use", () => {
  it.each([
    [
      "invalid JSON",
      '{\n  "agents": {"defaults": {"model": "x",}}\n}\n',
      {},
      "line 2, column 39: invalid JSON",
    ],
    ["an unknown key", { agents: { defaults: { modle: "x" } } }, {}, "agents.defaults.modle: unknown key"],
    [
      "a bad MEDBOT_ variable",
      { gateway: { port: 19000 } },
      { MEDBOT_GATEWAY__PORT: "x" },
      "MEDBOT_GATEWAY__PORT",
    ],
  ])("exits 2 on %s and leaves config.json as it was", async (_what, content, env, message) => {
    const home = tempHome();
    const file = writeConfig(home, content);
    const before = fs.readFileSync(file, "utf8");
    const result = await runMedbot(["onboard", "--yes", "--model", "other"], { home, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(file);
    expect(result.stderr).toContain(message);
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(fs.readdirSync(home)).toEqual(["config.json"]);
  });

  it("refuses an unknown --provider with the closest known names, exit 2, writing nothing", async () => {
    const home = path.join(tempHome(), "medbot-data");
    const result = await runMedbot(
      ["onboard", "--yes", "--provider", "opnai", "--api-key", "sk-test", "--model", "gpt-4o"],
      { home },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown provider "opnai"; did you mean openai?');
    expect(result.stderr).toContain("--provider custom --api-base URL");
    expect(fs.existsSync(home)).toBe(false);
  });

  it("suggests the close name even when no other flag is given", async () => {
    const home = path.join(tempHome(), "medbot-data");
    const result = await runMedbot(["onboard", "--yes", "--provider", "olama"], { home });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/did you mean ollama\?/);
    expect(fs.existsSync(home)).toBe(false);
  });

  it("keeps accepting a provider name of one's own when it comes with --api-base", async () => {
    const home = path.join(tempHome(), "medbot-data");
    const result = await runMedbot(
      ["onboard", "--yes", "--provider", "homelab", "--api-base", "http://127.0.0.1:8000/v1", "--model", "m"],
      { home },
    );
    expect(result.code).toBe(0);
    expect(readJson(path.join(home, "config.json")).providers.homelab.apiBase).toBe(
      "http://127.0.0.1:8000/v1",
    );
  });

  it("exits 2 on a bad --api-base before it writes anything", async () => {
    const home = path.join(tempHome(), "medbot-data");
    const result = await runMedbot(
      ["onboard", "--yes", "--provider", "custom", "--api-base", "localhost:8000"],
      {
        home,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("providers.custom.apiBase: must be an http(s) URL");
    expect(fs.existsSync(home)).toBe(false);
  });
});

describe("medbot onboard without --yes and without a terminal", () => {
  it("uses the flags, and fills the workspace the config names", async () => {
    const home = tempHome();
    writeConfig(home, { agents: { defaults: { workspace: "family-ws" } } });
    const result = await runMedbot(
      ["onboard", "--provider", "custom", "--api-base", "http://127.0.0.1:9/v1"],
      {
        home,
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Workspace: ${path.join(home, "family-ws")} (0700)`);
    expect(result.stdout).toMatch(/No model set yet/);
    for (const name of TEMPLATES) expect(fs.existsSync(path.join(home, "family-ws", name))).toBe(true);
    expect(fs.existsSync(path.join(home, "workspace"))).toBe(false);
    const config = readJson(path.join(home, "config.json"));
    expect(config.agents.defaults.workspace).toBe("family-ws");
    expect(config.providers.custom.apiBase).toBe("http://127.0.0.1:9/v1");
  });
});

describe("onboard keeps ${VAR} references as written", () => {
  it("writes the reference, never the secret it stands for, and accepts an apiBase given as ${VAR}", () => {
    const home = tempHome();
    const file = writeConfig(home, {
      providers: { custom: { apiKey: "${MY_LLM_KEY}", apiBase: "${MY_LLM_URL}" } },
      agents: { defaults: { provider: "custom" } },
    });
    const env = { MY_LLM_KEY: "sk-secret-value", MY_LLM_URL: "http://127.0.0.1:9/v1" };
    onboard(resolvePaths({ configPath: file }, {}), { model: "model-two" }, false, env);
    const text = fs.readFileSync(file, "utf8");
    expect(text).not.toContain("sk-secret-value");
    expect(JSON.parse(text).providers.custom).toEqual({ apiKey: "${MY_LLM_KEY}", apiBase: "${MY_LLM_URL}" });
    expect(JSON.parse(text).agents.defaults.model).toBe("model-two");
  });

  it("fills in the defaults when the references are plain strings", () => {
    const home = tempHome();
    const file = writeConfig(home, { providers: { openrouter: { apiKey: "${OPENROUTER_KEY}" } } });
    onboard(resolvePaths({ configPath: file }, {}), { model: "m" }, false, { OPENROUTER_KEY: "sk-x" });
    const config = readJson(file);
    expect(config.providers.openrouter.apiKey).toBe("${OPENROUTER_KEY}");
    expect(config.gateway).toMatchObject({ host: "127.0.0.1", port: 18790 });
  });

  it("refuses, writing nothing, when a referenced variable is not set", () => {
    const home = tempHome();
    const file = writeConfig(home, { providers: { openrouter: { apiKey: "${OPENROUTER_KEY}" } } });
    const before = fs.readFileSync(file, "utf8");
    expect(() => onboard(resolvePaths({ configPath: file }, {}), { model: "m" }, false, {})).toThrow(
      /OPENROUTER_KEY is not set/,
    );
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(fs.readdirSync(home)).toEqual(["config.json"]);
  });
});
