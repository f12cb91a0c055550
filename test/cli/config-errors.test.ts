// A broken config stops every command with exit 2, the file, the key path and the reason; it changes nothing.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in these strings is config syntax under test
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

/** Runs `medbot status` on an instance whose config.json is `config`; returns the run and the file. */
async function statusWith(config: unknown, env: Record<string, string> = {}) {
  const home = tempHome();
  const file = writeConfig(home, config);
  const before = fs.readFileSync(file, "utf8");
  const result = await runMedbot(["status"], { home, env });
  return { result, file, home, before };
}

describe("a broken config stops medbot with exit 2", () => {
  it("reports invalid JSON with the file, line and column, and creates nothing", async () => {
    const { result, file, home, before } = await statusWith(
      '{\n  "gateway": {\n    "port": 19000,\n  }\n}\n',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Config error in ${file}:`);
    expect(result.stderr).toContain("line 3, column 18: invalid JSON");
    expect(result.stdout).toBe("");
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(fs.readdirSync(home)).toEqual(["config.json"]);
  });

  it("names the key path of an unknown nested key", async () => {
    const { result, file, before } = await statusWith({ channels: { telegram: { tokn: "123:abc" } } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(file);
    expect(result.stderr).toContain("channels.telegram.tokn: unknown key");
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });

  it("refuses an enabled channel medbot does not have", async () => {
    const { result } = await statusWith({ channels: { discord: { enabled: true } } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/channels\.discord\.enabled: medbot has no such channel/);
  });

  it("names the variable a ${VAR} needs and the key that uses it", async () => {
    const { result } = await statusWith({
      providers: { openrouter: { apiKey: "${MEDBOT_TEST_UNSET_KEY}" } },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "providers.openrouter.apiKey: ${MEDBOT_TEST_UNSET_KEY} is used but MEDBOT_TEST_UNSET_KEY is not set",
    );
  });

  it("names the environment variable that holds a bad value", async () => {
    const { result, file, before } = await statusWith({}, { MEDBOT_GATEWAY__PORT: "abc" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("gateway.port (from MEDBOT_GATEWAY__PORT): expected JSON");
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });

  describe("medbot agent", () => {
    let fake: FakeOpenAI;
    beforeAll(async () => {
      fake = await FakeOpenAI.start();
    });
    afterAll(() => fake.close());

    it("stops too, before calling the model or opening the database", async () => {
      const home = tempHome();
      writeConfig(home, fakeProviderConfig(fake.url, { gateway: { port: "abc" } }));
      const result = await runMedbot(["agent", "-m", "hello"], { home });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("gateway.port:");
      expect(result.stdout).toBe("");
      expect(fake.requests).toHaveLength(0);
      expect(fs.existsSync(path.join(home, "workspace"))).toBe(false);
    });
  });
});
