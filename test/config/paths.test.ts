// Where an instance lives: ~/.medbot, MEDBOT_HOME, or the folder of --config; the workspace inside it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { resolvePaths } from "../../src/config/paths.js";

describe("resolvePaths", () => {
  const realHome = process.env.HOME;
  let fakeHome: string;
  beforeEach(() => {
    fakeHome = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-home-"));
    process.env.HOME = fakeHome;
  });
  afterEach(() => {
    process.env.HOME = realHome;
  });

  it("uses ~/.medbot by default", () => {
    expect(resolvePaths({}, {})).toEqual({
      home: path.join(fakeHome, ".medbot"),
      configFile: path.join(fakeHome, ".medbot", "config.json"),
      workspace: path.join(fakeHome, ".medbot", "workspace"),
      database: path.join(fakeHome, ".medbot", "workspace", "medbot.db"),
      memoryFile: path.join(fakeHome, ".medbot", "workspace", "memory", "MEMORY.md"),
      logs: path.join(fakeHome, ".medbot", "logs"),
    });
  });

  it("uses MEDBOT_HOME when it is set, expanding ~", () => {
    expect(resolvePaths({}, { MEDBOT_HOME: "/srv/medbot" })).toMatchObject({
      home: "/srv/medbot",
      configFile: "/srv/medbot/config.json",
      workspace: "/srv/medbot/workspace",
    });
    expect(resolvePaths({}, { MEDBOT_HOME: "~/family" }).home).toBe(path.join(fakeHome, "family"));
  });

  it("ignores an empty MEDBOT_HOME", () => {
    expect(resolvePaths({}, { MEDBOT_HOME: " " }).home).toBe(path.join(fakeHome, ".medbot"));
  });

  it("makes the folder of --config the data folder, over MEDBOT_HOME", () => {
    const paths = resolvePaths({ configPath: "/tmp/x/cfg.json" }, { MEDBOT_HOME: "/srv/medbot" });
    expect(paths).toMatchObject({
      home: "/tmp/x",
      configFile: "/tmp/x/cfg.json",
      workspace: "/tmp/x/workspace",
      database: "/tmp/x/workspace/medbot.db",
    });
  });

  it("resolves a relative --config from the current folder", () => {
    expect(resolvePaths({ configPath: "family/cfg.json" }, {}).home).toBe(path.resolve("family"));
  });

  it("puts a configured workspace relative to the data folder, ~ expanded, absolute as given", () => {
    const configPath = "/tmp/x/config.json";
    expect(resolvePaths({ configPath, workspace: "ws" }, {}).workspace).toBe("/tmp/x/ws");
    expect(resolvePaths({ configPath, workspace: "~/health" }, {}).workspace).toBe(
      path.join(fakeHome, "health"),
    );
    expect(resolvePaths({ configPath, workspace: "/data/medbot" }, {}).database).toBe(
      "/data/medbot/medbot.db",
    );
  });
});

describe("loadConfig finds its files", () => {
  it("reads the config in MEDBOT_HOME and applies agents.defaults.workspace", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-paths-"));
    fs.writeFileSync(
      path.join(home, "config.json"),
      JSON.stringify({ agents: { defaults: { workspace: "ws" } } }),
    );
    const loaded = loadConfig({}, { MEDBOT_HOME: home });
    expect(loaded.exists).toBe(true);
    expect(loaded.paths.configFile).toBe(path.join(home, "config.json"));
    expect(loaded.paths.workspace).toBe(path.join(home, "ws"));
  });

  it("takes the workspace from a MEDBOT_ override too", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-paths-"));
    const env = { MEDBOT_AGENTS__DEFAULTS__WORKSPACE: "/data/ws" };
    expect(loadConfig({ configPath: path.join(home, "cfg.json") }, env).paths.workspace).toBe("/data/ws");
  });
});
