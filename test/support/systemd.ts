// What the systemd unit tests share: an account to run the gateway as, the hardening every unit must carry,
// and `systemd-analyze verify` run on a unit's text.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** An account the gateway may run as: its name and numeric ids. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** An account systemd accepts without warning (not root, not nobody): ourselves, or one from passwd as root. */
export function ordinaryAccount(): Account | undefined {
  if (process.getuid?.() !== 0) {
    const me = os.userInfo();
    return { name: me.username, uid: me.uid, gid: me.gid };
  }
  const fields = execFileSync("getent", ["passwd"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(":"))
    .find((f) => Number(f[2]) >= 1000 && Number(f[2]) < 65534);
  return fields ? { name: fields[0] ?? "", uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
}

/** The hardening every unit must carry, written out here independently of the code under test. */
export function hardeningLines(mode: "user" | "system"): string[] {
  const common = [
    "NoNewPrivileges=yes",
    "UMask=0077",
    "ProtectSystem=strict",
    "ProtectHome=read-only",
    "PrivateTmp=yes",
    "ProtectKernelTunables=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RestrictRealtime=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "SystemCallArchitectures=native",
  ];
  return mode === "system" ? [...common, "CapabilityBoundingSet="] : common;
}

/** The unit's `Key=value` lines (comments and sections left out). */
export function settings(unit: string): string[] {
  return unit.split("\n").filter((line) => /^[A-Za-z]+=/.test(line));
}

/** What `systemd-analyze verify` said, or why it could not run on this machine. */
export type Verdict = { status: number | null; output: string } | { skip: string };

/** Runs `systemd-analyze verify` on the unit text, or says why it cannot run here. */
export function verifyUnit(unit: string, mode: "user" | "system"): Verdict {
  const analyze = "/usr/bin/systemd-analyze";
  if (!fs.existsSync(analyze)) return { skip: `${analyze} is not installed` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-verify-"));
  const file = path.join(dir, "medbot-gateway.service");
  fs.writeFileSync(file, unit, { mode: 0o600 });
  // A --user verify needs a runtime folder even without a running user manager.
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-runtime-"));
  const args = mode === "user" ? ["--user", "verify", file] : ["verify", file];
  const result = spawnSync(analyze, args, {
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
  });
  const output = `${result.stdout}${result.stderr}`.trim();
  if (/Failed to (initialize manager|setup working directory|lookup RuntimeDirectory)/.test(output)) {
    return { skip: `systemd-analyze cannot run here: ${output.split("\n")[0]}` };
  }
  return { status: result.status, output };
}
