// Doctor's exec checks: exec reported when on, high when its sandbox (bwrap) is missing, network reported.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { locateBubblewrap } from "../../src/agent/tools/sandbox.js";
import { configSchema } from "../../src/config/schema.js";
import { checkTools } from "../../src/doctor/doctor-config.js";
import { checkExec } from "../../src/doctor/doctor-exec.js";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const exec = (raw: Record<string, unknown>) => configSchema.parse({ tools: { exec: raw } }).tools.exec;
const ids = (findings: { id: string; severity: string }[]) => findings.map((f) => `${f.id}:${f.severity}`);

describe("doctor: exec", () => {
  it("is silent while exec is off, whether or not bwrap is installed", () => {
    expect(checkExec(exec({}), "/nonexistent")).toEqual([]);
    expect(checkExec(exec({ network: true }), "/usr/bin")).toEqual([]);
  });

  it("reports exec when on, and its network when given", () => {
    expect(ids(checkExec(exec({ enabled: true }), "/usr/bin"))).toEqual(["tools.exec:medium"]);
    const networked = checkExec(exec({ enabled: true, network: true }), "/usr/bin");
    expect(ids(networked)).toEqual(["tools.exec:medium", "tools.exec.network:medium"]);
    expect(networked[1]?.fix).toMatch(/tools.exec.network to false/);
  });

  it("is high when exec is on without bwrap, with the command that installs it", () => {
    const findings = checkExec(exec({ enabled: true }), "/nonexistent");
    expect(ids(findings)).toEqual(["tools.exec:medium", "tools.exec.sandbox:high"]);
    expect(findings[1]?.fix).toMatch(/apt-get install bubblewrap/);
  });

  it("is high when bwrap is installed but cannot build its sandbox, quoting bwrap", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-badbwrap-"));
    try {
      const script = "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n";
      fs.writeFileSync(path.join(dir, "bwrap"), script, { mode: 0o700 });
      const findings = checkExec(exec({ enabled: true }), dir);
      expect(ids(findings)).toEqual(["tools.exec:medium", "tools.exec.sandbox:high"]);
      expect(findings[1]?.why).toMatch(/uid map: Permission denied/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is high where /proc is not fully visible, as under ProtectKernelTunables=yes (the real bwrap)", (context) => {
    const real = locateBubblewrap();
    if (!real) return context.skip("bwrap is not installed");
    if (spawnSync("unshare", ["-m", "true"]).status !== 0)
      return context.skip("cannot make a mount namespace here");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-tunables-"));
    try {
      // The real bwrap, started where /proc/sys is overmounted read-only, as systemd does for the option.
      const wrapper =
        "#!/bin/sh\nexec unshare -m sh -c 'mount --bind /proc/sys /proc/sys && " +
        `mount -o remount,bind,ro /proc/sys && exec ${real} "$@"' bwrap "$@"\n`;
      fs.writeFileSync(path.join(dir, "bwrap"), wrapper, { mode: 0o700 });
      const findings = checkExec(exec({ enabled: true }), dir);
      expect(ids(findings)).toEqual(["tools.exec:medium", "tools.exec.sandbox:high"]);
      expect(findings[1]?.why).toMatch(/Can't mount proc/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds bwrap on PATH only where it is, as the config check runs it", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-nobwrap-"));
    try {
      expect(locateBubblewrap(empty)).toBeUndefined();
      expect(locateBubblewrap(`bin:${empty}`)).toBeUndefined();
      fs.writeFileSync(path.join(empty, "bwrap"), "#!/bin/sh\n", { mode: 0o700 });
      expect(locateBubblewrap(empty)).toBe(path.join(empty, "bwrap"));
      fs.chmodSync(path.join(empty, "bwrap"), 0o600);
      expect(locateBubblewrap(empty)).toBeUndefined();
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const config = configSchema.parse({ tools: { exec: { enabled: true } } });
      expect(ids(checkTools(config))).toEqual(["tools.exec:medium", "tools.exec.sandbox:high"]);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("medbot doctor (the CLI) with exec enabled", () => {
  it("exits 1 with tools.exec.sandbox high and the fix when bwrap is not on PATH, and passes with it", async () => {
    const home = tempHome("medbot-doctor-exec-");
    try {
      writeConfig(home, { tools: { exec: { enabled: true, network: true } } });
      const empty = path.join(home, "no-bwrap");
      fs.mkdirSync(empty);
      const without = await runMedbot(["doctor", "--json"], { home, env: { PATH: empty } });
      const found = (stdout: string) =>
        (JSON.parse(stdout) as { findings: { id: string; severity: string; fix: string }[] }).findings;
      const missing = found(without.stdout).filter((f) => f.id.startsWith("tools.exec"));
      // Doctor lists the most severe first.
      expect(ids(missing)).toEqual([
        "tools.exec.sandbox:high",
        "tools.exec:medium",
        "tools.exec.network:medium",
      ]);
      expect(missing[0]?.fix).toMatch(/apt-get install bubblewrap/);
      expect(without.code).toBe(1);
      const withBwrap = await runMedbot(["doctor", "--json"], { home });
      expect(ids(found(withBwrap.stdout).filter((f) => f.id.startsWith("tools.exec")))).toEqual([
        "tools.exec:medium",
        "tools.exec.network:medium",
      ]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
