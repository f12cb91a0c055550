// The one config schema: its defaults, and config.schema.json (for editors) kept in step with it.
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CHANNEL_NAMES, configJsonSchema, configSchema } from "../../src/config/schema.js";

const SCHEMA_FILE = new URL("../../config.schema.json", import.meta.url);

describe("config.schema.json", () => {
  it("is exactly what configJsonSchema() generates (run `npm run schema` after changing schema.ts)", () => {
    expect(fs.readFileSync(SCHEMA_FILE, "utf8")).toBe(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

  it("marks unknown keys as errors, so an editor flags a typo", () => {
    const schema = configJsonSchema() as {
      additionalProperties: unknown;
      properties: Record<string, { additionalProperties?: unknown }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.gateway?.additionalProperties).toBe(false);
  });
});

describe("the config defaults", () => {
  const defaults = configSchema.parse({});

  it("are the documented ones", () => {
    expect(defaults.agents.defaults).toMatchObject({ provider: "auto", model: "", maxToolIterations: 40 });
    expect(defaults.tools).toMatchObject({
      restrictToWorkspace: true,
      exec: { enabled: false },
      web: { enabled: false },
    });
    expect(defaults.gateway).toEqual({
      host: "127.0.0.1",
      port: 18790,
      allowNonLoopback: false,
      maxParallelSessions: 4,
      shutdownDeadlineS: 20,
      maxInboundChars: 16_000,
      turnDeadlineS: 600,
    });
    expect(defaults.people).toEqual({});
    expect(defaults.contacts).toEqual([]);
    expect(defaults.heartbeat.enabled).toBe(false);
    expect(defaults.providers).toEqual({});
  });

  it("keep every channel closed: switched off and nobody allowed", () => {
    for (const name of CHANNEL_NAMES) {
      expect(defaults.channels[name]).toMatchObject({ enabled: false, allowFrom: [], dmPolicy: "allowlist" });
    }
  });

  it("validate again unchanged, so a config written with them loads as written", () => {
    expect(configSchema.parse(JSON.parse(JSON.stringify(defaults)))).toEqual(defaults);
  });
});

describe("archive.units", () => {
  it("takes a built-in kind's unit in any spelling and names what is wrong otherwise", () => {
    expect(
      configSchema.parse({ archive: { units: { glucose: "mg/dl", weight: "lb" } } }).archive.units,
    ).toEqual({
      glucose: "mg/dl",
      weight: "lb",
    });
    const problems = (units: Record<string, string>) =>
      configSchema.safeParse({ archive: { units } }).error?.issues.map((issue) => issue.message);
    expect(problems({ glucose: "stone" })).toEqual([
      '"stone" is not a unit for glucose. Accepted: mmol/L, mg/dL.',
    ]);
    expect(problems({ steps: "km" })).toEqual([
      '"steps" is not a built-in kind of reading (blood_pressure, glucose, weight, temperature, heart_rate, spo2).',
    ]);
  });
});
