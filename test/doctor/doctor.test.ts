// runDoctor as a whole: a secure deployment passes, a broken config is itself a finding, --fix re-checks.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasHighFinding, runDoctor } from "../../src/doctor/doctor.js";
import { ensurePrivateDir, writePrivateFile } from "../../src/storage/private-fs.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const env = { PATH: process.env.PATH };
const uid = process.getuid?.();
/** Findings other than "root" (CI runs as root, which doctor reports). */
const besidesRoot = (report: Awaited<ReturnType<typeof runDoctor>>) =>
  report.findings.filter((f) => f.id !== "root").map((f) => `${f.id}:${f.severity}`);

function deployment(name: string, config: unknown): string {
  const home = path.join(scratch, name);
  writePrivateFile(
    path.join(home, "config.json"),
    typeof config === "string" ? config : JSON.stringify(config),
  );
  ensurePrivateDir(path.join(home, "workspace"));
  return path.join(home, "config.json");
}

describe("medbot doctor checks", () => {
  it("passes a private deployment with an explicit allow-list (as an ordinary user)", async () => {
    const configPath = deployment("secure", {
      channels: { telegram: { enabled: true, allowFrom: ["123"] } },
      people: { mum: { identities: ["telegram:123"], members: "*" } },
    });
    const report = await runDoctor({ configPath, uid, env });
    expect(besidesRoot(report)).toEqual([]);
  });

  it("reports a config that does not load as high, and still checks the files", async () => {
    const configPath = deployment("broken", '{ "channels": { "telegram": { "enabled": "yes" } } }');
    fs.chmodSync(configPath, 0o644);
    const report = await runDoctor({ configPath, uid, env });
    expect(report.findings.map((f) => f.id)).toEqual(expect.arrayContaining(["config.invalid"]));
    const invalid = report.findings.find((f) => f.id === "config.invalid");
    expect(invalid?.severity).toBe("high");
    expect(invalid?.what).toContain("channels.telegram.enabled");
    expect(report.findings.some((f) => f.id === "perms.mode" && f.paths?.includes(configPath))).toBe(true);
    expect(hasHighFinding(report)).toBe(true);
  });

  it("sorts worst first and counts by severity", async () => {
    const configPath = deployment("mixed", {
      channels: { qq: { enabled: true }, telegram: { enabled: true, allowFrom: ["*"] } },
      tools: { web: { enabled: true } },
    });
    const report = await runDoctor({ configPath, uid, env });
    expect(besidesRoot(report)).toEqual([
      "channels.open:high",
      "channels.allowFrom:medium",
      "tools.web:medium",
    ]);
    const root = uid === 0 ? 1 : 0;
    expect(report.summary).toEqual({ high: 1 + root, medium: 2, low: 0, info: 0, fixed: 0 });
  });

  it("with fix, tightens modes first, so only what it cannot fix is left", async () => {
    const configPath = deployment("fixable", { gateway: { host: "0.0.0.0" } });
    fs.chmodSync(path.dirname(configPath), 0o755);
    fs.chmodSync(configPath, 0o666);
    const before = await runDoctor({ configPath, uid, env: { ...env, MEDBOT_ALLOW_ROOT: "1" } });
    expect(before.findings.filter((f) => f.id === "perms.mode")).toHaveLength(2);
    const after = await runDoctor({ configPath, uid, fix: true, env: { ...env, MEDBOT_ALLOW_ROOT: "1" } });
    expect(after.fixed.map((c) => c.path).sort()).toEqual([path.dirname(configPath), configPath].sort());
    expect(after.findings.filter((f) => f.id.startsWith("perms."))).toEqual([]);
    expect(after.findings.find((f) => f.id === "gateway.loopback")?.severity).toBe("high");
    expect(fs.statSync(configPath).mode & 0o777).toBe(0o600);
  });

  it("says when there is no config yet", async () => {
    const report = await runDoctor({ configPath: path.join(scratch, "fresh", "config.json"), uid, env });
    expect(besidesRoot(report)).toEqual(["config.missing:info"]);
  });
});
