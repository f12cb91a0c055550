// Which instance a command works on: ~/.medbot, MEDBOT_HOME, or the folder of --config.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

describe("the data folder", () => {
  it("is ~/.medbot when nothing else is said", async () => {
    const fakeHome = tempHome("medbot-user-");
    const result = await runMedbot(["status", "--json"], { env: { HOME: fakeHome } });
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status.configFile).toBe(path.join(fakeHome, ".medbot", "config.json"));
    expect(status.workspace).toBe(path.join(fakeHome, ".medbot", "workspace"));
  });

  it("is MEDBOT_HOME when it is set, over ~/.medbot", async () => {
    const fakeHome = tempHome("medbot-user-");
    const home = tempHome();
    writeConfig(home, { agents: { defaults: { model: "from-medbot-home" } } });
    const result = await runMedbot(["status", "--json"], { home, env: { HOME: fakeHome } });
    const status = JSON.parse(result.stdout);
    expect(status.configFile).toBe(path.join(home, "config.json"));
    expect(status.configured).toBe(true);
    expect(status.workspace).toBe(path.join(home, "workspace"));
  });

  it("is the folder of --config, over MEDBOT_HOME: onboard and status use the workspace beside it", async () => {
    const folder = path.join(tempHome(), "x");
    const configFile = path.join(folder, "cfg.json");
    const elsewhere = path.join(tempHome(), "unused");
    const onboarded = await runMedbot(
      ["--config", configFile, "onboard", "--yes", "--provider", "ollama", "--model", "llama3"],
      { home: elsewhere },
    );
    expect(onboarded.code).toBe(0);
    expect(fs.existsSync(path.join(folder, "workspace", "AGENTS.md"))).toBe(true);

    const result = await runMedbot(["status", "--json", "--config", configFile], { home: elsewhere });
    const status = JSON.parse(result.stdout);
    expect(status).toMatchObject({
      configFile,
      configured: true,
      workspace: path.join(folder, "workspace"),
      provider: { name: "ollama", model: "llama3" },
    });
    expect(fs.existsSync(elsewhere)).toBe(false);
  });
});
