// `medbot status`: where things are, which model, which channels, how much is stored, and permissions.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionStore } from "../../src/agent/sessions.js";
import { resolvePaths } from "../../src/config/paths.js";
import { onboard } from "../../src/setup/workspace.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { freePort } from "../support/gateway-process.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

/** An onboarded instance (in-process, no child run) with a provider, a channel and one conversation. */
function onboardedInstance(): { home: string; configFile: string; workspace: string } {
  const home = tempHome();
  const paths = resolvePaths({ configPath: path.join(home, "config.json") }, {});
  onboard(paths, { provider: "custom", apiBase: "http://127.0.0.1:9/v1", model: "fake-model" }, false, {});
  const config = JSON.parse(fs.readFileSync(paths.configFile, "utf8"));
  config.channels.telegram = { ...config.channels.telegram, enabled: true, allowFrom: ["123"] };
  fs.writeFileSync(paths.configFile, JSON.stringify(config));
  const db = openDatabase(paths.database);
  new SessionStore(db).appendTurn("cli:default:local", "hello", "hi there", "*");
  db.close();
  return { home, configFile: paths.configFile, workspace: paths.workspace };
}

describe("medbot status", () => {
  it("--json lists the config, workspace, provider and model, channels, counts and permissions", async () => {
    const { home, configFile, workspace } = onboardedInstance();
    const result = await runMedbot(["status", "--json"], { home });
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status).toMatchObject({
      configFile,
      configured: true,
      workspace,
      provider: { name: "custom", model: "fake-model" },
      channels: ["telegram"],
      counts: { sessions: 1, messages: 2 },
    });
    expect(status.counts.skills).toBeGreaterThan(0);
    expect(status.permissions).toEqual([
      { path: home, mode: "0700", private: true },
      { path: configFile, mode: "0600", private: true },
      { path: workspace, mode: "0700", private: true },
      { path: path.join(workspace, "medbot.db"), mode: "0600", private: true },
    ]);
  });

  it("on an instance never onboarded says to run onboard and creates nothing", async () => {
    const home = path.join(tempHome(), "never-onboarded");
    const result = await runMedbot(["status"], { home });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Config:      ${path.join(home, "config.json")} (missing: run medbot onboard)`,
    );
    expect(result.stdout).toMatch(/Model: +No model provider is configured\. Run `medbot onboard`/);
    expect(result.stdout).toMatch(/Channels: +none enabled/);
    expect(fs.existsSync(home)).toBe(false);
  });

  it("tightens a loose data folder, config and workspace, and tells the user which and how", async () => {
    const { home, configFile, workspace } = onboardedInstance();
    fs.chmodSync(home, 0o755);
    fs.chmodSync(configFile, 0o644);
    fs.chmodSync(workspace, 0o775);
    const result = await runMedbot(["status"], { home });
    expect(result.code).toBe(0);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(workspace).mode & 0o777).toBe(0o700);
    expect(result.stderr).toContain(`${home} was 0755; tightened to 0700`);
    expect(result.stderr).toContain(`${configFile} was 0644; tightened to 0600`);
    expect(result.stderr).toContain(`${workspace} was 0775; tightened to 0700`);
    expect(result.stdout).not.toMatch(/OPEN/);
  });
});

describe("medbot status --check", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(() => fake.close());

  /** Runs `status --check` (and any more args) against a config pointing at `apiBase`; counts requests. */
  async function check(apiBase: string, ...more: string[]) {
    const home = tempHome();
    writeConfig(home, fakeProviderConfig(apiBase));
    const before = fake.chatRequests.length;
    const result = await runMedbot(["status", "--check", ...more], { home });
    return { ...result, requests: fake.chatRequests.length - before };
  }

  it("makes exactly one request and exits 0 when the provider answers", async () => {
    const result = await check(fake.url);
    expect(result.code).toBe(0);
    expect(result.requests).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`Check: +ok: fake-model answered at API base ${fake.url}`));
    expect(JSON.stringify(fake.chatRequests.at(-1)!.body.messages)).not.toMatch(/medbot|family|memory/i);
  });

  it("reports a rejected key after one request, exit 1", async () => {
    fake.enqueue({ status: 401, body: { error: { message: "Incorrect API key provided" } } });
    const result = await check(fake.url);
    expect(result.code).toBe(1);
    expect(result.requests).toBe(1);
    expect(result.stdout).toMatch(/Check: +FAILED: the API key was rejected \(HTTP 401\)/);
    expect(result.stdout).toContain("providers.custom.apiKey");
  });

  it("reports an unknown model after one request, exit 1, also in --json", async () => {
    fake.enqueue({
      status: 404,
      body: { error: { message: "The model `fake-model` does not exist", code: "model_not_found" } },
    });
    const result = await check(fake.url, "--json");
    expect(result.code).toBe(1);
    expect(result.requests).toBe(1);
    expect(JSON.parse(result.stdout).check).toEqual({
      ok: false,
      problem: `model "fake-model" not found (HTTP 404) at API base ${fake.url}: check agents.defaults.model.`,
    });
  });

  it("does not retry a server error: one request, exit 1", async () => {
    // A retry would get the default answer and pass.
    fake.enqueue({ status: 503 });
    const result = await check(fake.url);
    expect(result.code).toBe(1);
    expect(result.requests).toBe(1);
    expect(result.stdout).toMatch(/Check: +FAILED: the provider failed \(HTTP 503\)/);
  });

  it("names the refused connection at a closed port, exit 1", async () => {
    const apiBase = `http://127.0.0.1:${await freePort()}/v1`;
    const result = await check(apiBase);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`connection refused at API base ${apiBase}`);
  });

  it("without a configured provider reports the problem without any request, exit 1", async () => {
    const home = tempHome();
    writeConfig(home, { agents: { defaults: { model: "some-model" } } });
    const before = fake.requests.length;
    const result = await runMedbot(["status", "--check"], { home });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Check: +FAILED: No model provider is configured/);
    expect(fake.requests.length).toBe(before);
  });
});
