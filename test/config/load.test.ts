// loadConfig: strict validation, ${VAR} substitution and MEDBOT_ overrides; a bad config changes nothing.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in these strings is config syntax under test
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, describeJsonError, type LoadedConfig, loadConfig } from "../../src/config/load.js";

/** Writes `content` (JSON text, or a value to serialise) as config.json in a fresh folder. */
function configFile(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-load-"));
  const file = path.join(dir, "config.json");
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return file;
}

/** Loads `file` with exactly `env` (never the developer's own environment). */
function load(file: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  return loadConfig({ configPath: file }, env);
}

/** The ConfigError that loading `content` throws; fails the test if it loads. */
function loadError(content: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  const file = configFile(content);
  try {
    load(file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(file);
    return error as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(content)} to be refused`);
}

/** Every file under `dir` with its content, to show that a failed load wrote nothing. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir, { recursive: true, encoding: "utf8" })
      .sort()
      .map((name) => {
        const full = path.join(dir, name);
        return [name, fs.statSync(full).isDirectory() ? "(dir)" : fs.readFileSync(full, "utf8")];
      }),
  );
}

describe("loadConfig refuses invalid JSON with the line and column at fault", () => {
  it("points at a trailing comma on line 3", () => {
    const text = '{\n  "gateway": {\n    "port": 19000,\n  }\n}\n';
    const error = loadError(text);
    expect(error.problems).toEqual([
      {
        where: "line 3, column 18",
        reason: "invalid JSON: a comma before the closing bracket (JSON allows no trailing comma; remove it)",
      },
    ]);
  });

  it("points at a trailing comma inside an array", () => {
    const error = loadError('{\n  "channels": {\n    "telegram": { "allowFrom": ["123",] }\n  }\n}');
    expect(error.problems[0]?.where).toBe("line 3, column 38");
  });

  it("points at an unquoted value, where V8's own message has no position", () => {
    const error = loadError('{\n  "gateway": {\n    "host": localhost\n  }\n}');
    expect(error.problems).toEqual([{ where: "line 3, column 13", reason: 'invalid JSON: unexpected "l"' }]);
  });

  it("points at a comment and says JSON has none", () => {
    const error = loadError('{\n  // my settings\n  "gateway": {}\n}');
    expect(error.problems[0]).toMatchObject({
      where: "line 2, column 3",
      reason: expect.stringMatching(/comment/),
    });
  });

  it("says where a truncated file ends", () => {
    const error = loadError('{\n  "gateway": {"port": 1');
    expect(error.problems[0]).toMatchObject({
      where: "line 2, column 24",
      reason: expect.stringMatching(/ends/),
    });
  });

  it("calls an empty file empty", () => {
    expect(loadError("").problems[0]?.reason).toMatch(/empty/);
  });

  it("accepts a byte-order mark an editor put at the start", () => {
    const file = configFile('\uFEFF{"gateway": {"port": 19000}}');
    expect(load(file).config.gateway.port).toBe(19000);
  });

  it("finds the same position as V8 where V8 reports one", () => {
    const text = '{"a": {"b": [1, 2 3]}}';
    expect(() => JSON.parse(text)).toThrow(/position 18/);
    expect(describeJsonError(text)).toMatchObject({ line: 1, column: 19 });
  });
});

describe("loadConfig refuses a config the schema does not accept, naming the key path", () => {
  it.each([
    ["an unknown top-level key", { gatway: { port: 1 } }, "gatway", /unknown key/],
    [
      "an unknown agent setting",
      { agents: { defaults: { modle: "x" } } },
      "agents.defaults.modle",
      /unknown key/,
    ],
    [
      "an unknown channel setting",
      { channels: { telegram: { tokn: "123:abc" } } },
      "channels.telegram.tokn",
      /unknown key/,
    ],
    ["a port that is not a number", { gateway: { port: "abc" } }, "gateway.port", /expected number/],
    [
      "a temperature out of range",
      { agents: { defaults: { temperature: 5 } } },
      "agents.defaults.temperature",
      /too big/i,
    ],
    [
      "an apiBase that is not a URL",
      { providers: { custom: { apiBase: "localhost:8000/v1" } } },
      "providers.custom.apiBase",
      /http\(s\) URL/,
    ],
    [
      "an enabled channel medbot does not have",
      { channels: { discord: { enabled: true, token: "x" } } },
      "channels.discord.enabled",
      /no such channel/,
    ],
  ])("refuses %s", (_what, config, where, reason) => {
    const error = loadError(config);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.where).toBe(where);
    expect(error.problems[0]?.reason).toMatch(reason);
  });

  it.each([
    ["an array", "[]"],
    ["a string", '"config"'],
    ["null", "null"],
  ])("refuses %s at the top level", (_what, text) => {
    expect(loadError(text).problems).toEqual([{ where: "(top level)", reason: "must be a JSON object" }]);
  });

  it("names the file, the key and what to do in its message", () => {
    const error = loadError({ gateway: { port: "abc" } });
    expect(error.message).toContain(`Config error in ${error.file}:`);
    expect(error.message).toMatch(/ {2}- gateway\.port: .*expected number/);
    expect(error.message).toMatch(/does not fall back to defaults/);
  });

  it("lists every bad key, not only the first", () => {
    const error = loadError({ gateway: { port: 0 }, heartbeat: { intervalS: 1 } });
    expect(error.problems.map((p) => p.where).sort()).toEqual(["gateway.port", "heartbeat.intervalS"]);
  });

  it("names each unknown key in full, also several in one object", () => {
    const error = loadError({ agents: { defaults: { modle: "x", maxToken: 10 } } });
    expect(error.problems).toEqual([
      { where: "agents.defaults.modle", reason: "unknown key" },
      { where: "agents.defaults.maxToken", reason: "unknown key" },
    ]);
  });

  it("says what a provider name may be", () => {
    const error = loadError({ providers: { "open router": { apiKey: "x" } } });
    expect(error.problems).toEqual([
      { where: "providers.open router", reason: "a provider name is a letter, then letters, digits, _ or -" },
    ]);
  });

  it("accepts a switched-off channel medbot does not have, as MedBot's config.json lists them", () => {
    const file = configFile({
      channels: { discord: { enabled: false, token: "" }, slack: { enabled: false } },
    });
    expect(load(file).config.channels.telegram.enabled).toBe(false);
  });

  it('accepts MedBot\'s "" and null for an unset apiBase', () => {
    const file = configFile({
      providers: { openai: { apiKey: "k", apiBase: null }, deepseek: { apiBase: "" } },
    });
    expect(Object.keys(load(file).config.providers)).toEqual(["openai", "deepseek"]);
  });

  it("loads no file as the defaults and says the file does not exist", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-load-"));
    const loaded = load(path.join(dir, "config.json"));
    expect(loaded.exists).toBe(false);
    expect(loaded.config.gateway).toMatchObject({ host: "127.0.0.1", port: 18790 });
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe("loadConfig substitutes ${VAR} in string values", () => {
  it("replaces each variable inside a string and inside arrays", () => {
    const file = configFile({
      providers: { custom: { apiKey: "${KEY_A}-${KEY_B}", apiBase: "http://${LLM_HOST}:8000/v1" } },
      channels: { telegram: { allowFrom: ["${OWNER_ID}"] } },
    });
    const { config } = load(file, { KEY_A: "sk", KEY_B: "42", LLM_HOST: "127.0.0.1", OWNER_ID: "777" });
    expect(config.providers.custom).toMatchObject({ apiKey: "sk-42", apiBase: "http://127.0.0.1:8000/v1" });
    expect(config.channels.telegram.allowFrom).toEqual(["777"]);
  });

  it("refuses a variable that is not set, naming the variable and the key", () => {
    const error = loadError({ providers: { openrouter: { apiKey: "${OPENROUTER_KEY}" } } });
    expect(error.problems).toEqual([
      {
        where: "providers.openrouter.apiKey",
        reason: "${OPENROUTER_KEY} is used but OPENROUTER_KEY is not set",
      },
    ]);
  });

  it("substitutes a variable set to the empty string", () => {
    const file = configFile({ providers: { openrouter: { apiKey: "${EMPTY}" } } });
    expect(load(file, { EMPTY: "" }).config.providers.openrouter?.apiKey).toBe("");
  });
});

describe("MEDBOT_ environment variables override the file", () => {
  it("overrides an API key, also the empty one onboard writes", () => {
    const file = configFile({ providers: { openrouter: { apiKey: "" } } });
    const { config } = load(file, { MEDBOT_PROVIDERS__OPENROUTER__API_KEY: "sk-from-env" });
    expect(config.providers.openrouter?.apiKey).toBe("sk-from-env");
  });

  it("wins over a key the file sets", () => {
    const file = configFile({ providers: { openrouter: { apiKey: "sk-file" } } });
    const { config } = load(file, { MEDBOT_PROVIDERS__OPENROUTER__API_KEY: "sk-env" });
    expect(config.providers.openrouter?.apiKey).toBe("sk-env");
  });

  it("creates a provider the file does not mention", () => {
    const file = configFile({});
    const { config } = load(file, { MEDBOT_PROVIDERS__DEEPSEEK__API_KEY: "sk-ds" });
    expect(config.providers.deepseek).toEqual({ apiKey: "sk-ds" });
  });

  it("maps SNAKE_CASE segments to camelCase keys and parses typed values", () => {
    const file = configFile({});
    const { config } = load(file, {
      MEDBOT_AGENTS__DEFAULTS__MAX_TOOL_ITERATIONS: "7",
      MEDBOT_TOOLS__RESTRICT_TO_WORKSPACE: "false",
      MEDBOT_CHANNELS__TELEGRAM__ALLOW_FROM: '["123"]',
      MEDBOT_TOOLS__EXEC__ENABLED: "true",
    });
    expect(config.agents.defaults.maxToolIterations).toBe(7);
    expect(config.tools.restrictToWorkspace).toBe(false);
    expect(config.channels.telegram.allowFrom).toEqual(["123"]);
    expect(config.tools.exec.enabled).toBe(true);
  });

  it("keeps a value for a string key as text, even when it looks like JSON", () => {
    const file = configFile({});
    const { config } = load(file, { MEDBOT_AGENTS__DEFAULTS__MODEL: "123" });
    expect(config.agents.defaults.model).toBe("123");
  });

  it("refuses a value that is not JSON for a typed key, naming the variable and the key", () => {
    const error = loadError({}, { MEDBOT_GATEWAY__PORT: "abc" });
    expect(error.problems).toEqual([
      { where: "gateway.port (from MEDBOT_GATEWAY__PORT)", reason: "expected JSON (like 18790)" },
    ]);
  });

  it("refuses a value out of range, naming the variable", () => {
    const error = loadError({}, { MEDBOT_GATEWAY__PORT: "70000" });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.where).toBe("gateway.port (from MEDBOT_GATEWAY__PORT)");
    expect(error.problems[0]?.reason).toMatch(/too big/i);
  });

  it("refuses a variable for a key that does not exist, naming the variable", () => {
    const error = loadError({}, { MEDBOT_AGENTS__DEFAULTS__MODLE: "gpt" });
    expect(error.problems).toEqual([
      { where: "agents.defaults.modle (from MEDBOT_AGENTS__DEFAULTS__MODLE)", reason: "unknown key" },
    ]);
  });

  it("names each variable of several for unknown keys in one object", () => {
    const error = loadError({}, { MEDBOT_GATEWAY__HOSTNAME: "x", MEDBOT_GATEWAY__PORTS: "1" });
    expect(error.problems.map((p) => p.where).sort()).toEqual([
      "gateway.hostname (from MEDBOT_GATEWAY__HOSTNAME)",
      "gateway.ports (from MEDBOT_GATEWAY__PORTS)",
    ]);
  });

  it("ignores MEDBOT_ variables without __, which are not config keys", () => {
    const file = configFile({});
    const env = { MEDBOT_HOME: "/nowhere", MEDBOT_ALLOW_ROOT: "1", MEDBOT_DEBUG: "1" };
    expect(load(file, env).config.agents.defaults.model).toBe("");
  });

  it("never writes the overrides into the file", () => {
    const file = configFile({ providers: { openrouter: { apiKey: "" } } });
    const before = fs.readFileSync(file, "utf8");
    load(file, { MEDBOT_PROVIDERS__OPENROUTER__API_KEY: "sk-secret", MEDBOT_GATEWAY__PORT: "19001" });
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });
});

describe("a config that fails to load changes nothing", () => {
  it.each([
    ["invalid JSON", '{\n  "gateway": {\n    "port": 19000,\n  }\n}\n', {}],
    ["an unknown key", { agents: { defaults: { modle: "x" } } }, {}],
    ["a missing variable", { providers: { openrouter: { apiKey: "${NOT_SET}" } } }, {}],
    ["a bad environment value", { gateway: { port: 19000 } }, { MEDBOT_GATEWAY__PORT: "abc" }],
  ])("leaves the folder and the file as they were after %s", (_what, content, env) => {
    const file = configFile(content);
    const dir = path.dirname(file);
    fs.chmodSync(file, 0o600);
    const before = snapshot(dir);
    const modeBefore = fs.statSync(file).mode;
    expect(() => load(file, env)).toThrow(ConfigError);
    expect(snapshot(dir)).toEqual(before);
    expect(fs.statSync(file).mode).toBe(modeBefore);
  });
});
