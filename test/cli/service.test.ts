// `medbot service`: the unit written for the gateway (never root, hardened, no secrets), status and uninstall.
// Units go to a --unit-dir and systemctl is never called, so the real system is not touched.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MEDBOT_BIN, type RunResult, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";
import { hardeningLines, ordinaryAccount, settings, verifyUnit } from "../support/systemd.js";

const isRoot = process.getuid?.() === 0;
const UNIT = "medbot-gateway.service";
const SECRETS = {
  apiKey: "sk-live-service-test-0123456789",
  telegramToken: "123456:telegram-secret-token",
  bridgeToken: "bridge-secret-token-abcdef",
};

const account = ordinaryAccount();

/** A data folder with a config full of secrets, owned by `owner`. */
function dataFolder(owner = account, extra: Record<string, unknown> = {}): string {
  const home = path.join(tempHome("medbot-service-"), "data");
  writeConfig(home, {
    ...extra,
    providers: { custom: { apiKey: SECRETS.apiKey, apiBase: "http://127.0.0.1:9/v1" } },
    channels: {
      telegram: { enabled: false, token: SECRETS.telegramToken, allowFrom: [] },
      whatsapp: { enabled: false, bridgeToken: SECRETS.bridgeToken, allowFrom: [] },
    },
  });
  if (isRoot && owner) execFileSync("chown", ["-R", `${owner.uid}:${owner.gid}`, home]);
  return home;
}

function unitDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "medbot-units-"));
}

describe.skipIf(!account)("medbot service install --system", () => {
  const user = account?.name ?? "";

  it("writes a hardened unit running medbot gateway as the named user, with no secret in it", async () => {
    const home = dataFolder();
    const dir = unitDir();
    const result = await runMedbot(
      ["service", "install", "--system", "--as", user, "--unit-dir", dir, "--no-start"],
      {
        home,
      },
    );
    expect(result.stderr).not.toMatch(/medbot service/);
    expect(result.code).toBe(0);
    const file = path.join(dir, UNIT);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const unit = fs.readFileSync(file, "utf8");
    expect(settings(unit)).toContain(`User=${user}`);
    const exec = unit.match(/^ExecStart=(\S+) .* (\S+) gateway$/m);
    expect(exec?.[1]).toBe(process.execPath);
    expect(path.isAbsolute(exec?.[1] ?? "")).toBe(true);
    expect(exec?.[2]).toBe(MEDBOT_BIN);
    expect(settings(unit)).toContain(`Environment=MEDBOT_HOME=${home}`);
    for (const line of [...hardeningLines("system"), "Restart=on-failure"]) {
      expect(settings(unit)).toContain(line);
    }
    // The gateway writes its data only: the package it runs (bin/, dist/, node_modules/) stays read-only.
    expect(unit).toMatch(new RegExp(`^ReadWritePaths=${home}$`, "m"));
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
    for (const secret of Object.values(SECRETS)) expect(unit).not.toContain(secret);
    // systemctl was not run; the user is told what to run instead.
    expect(result.stdout).toContain("systemctl daemon-reload");
    expect(result.stdout).toContain(`systemctl enable --now ${UNIT}`);
  });

  it("writes a unit systemd-analyze verify accepts", async (context) => {
    const dir = unitDir();
    const install = await runMedbot(
      ["service", "install", "--system", "--as", user, "--unit-dir", dir, "--no-start"],
      { home: dataFolder() },
    );
    expect(install.code).toBe(0);
    const verdict = verifyUnit(fs.readFileSync(path.join(dir, UNIT), "utf8"), "system");
    if ("skip" in verdict) return context.skip(verdict.skip);
    expect(verdict.output).toBe("");
    expect(verdict.status).toBe(0);
  });

  it("with tools.exec enabled, lets exec's bubblewrap sandbox make its namespaces and /proc", async () => {
    const home = dataFolder(account, { tools: { exec: { enabled: true } } });
    const result = await runMedbot(["service", "install", "--system", "--as", user, "--dry-run"], { home });
    expect(result.code).toBe(0);
    expect(settings(result.stdout)).toContain("RestrictNamespaces=user mnt pid net ipc uts cgroup");
    expect(settings(result.stdout)).not.toContain("ProtectKernelTunables=yes");
  });

  it("--dry-run prints the unit and writes nothing", async () => {
    const dir = unitDir();
    const result = await runMedbot(
      ["service", "install", "--system", "--as", user, "--unit-dir", dir, "--dry-run"],
      {
        home: dataFolder(),
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\[Service\]$/m);
    expect(result.stdout).toContain(`\nUser=${user}\n`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses root as the service user, and writes nothing", async () => {
    const dir = unitDir();
    const result = await runMedbot(
      ["service", "install", "--system", "--as", "root", "--unit-dir", dir, "--no-start"],
      {
        home: dataFolder(),
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/does not run as root/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses a data folder the service user does not own, naming the fix", async (context) => {
    if (!isRoot) return context.skip("needs root to hand the data folder to another account");
    const dir = unitDir();
    const home = dataFolder();
    fs.chownSync(home, 0, 0);
    const result = await runMedbot(
      ["service", "install", "--system", "--as", user, "--unit-dir", dir, "--no-start"],
      {
        home,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`belongs to uid 0, not ${user}`);
    expect(result.stderr).toContain(`chown -R ${user} ${home}`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses to install without a config, and an unknown account", async () => {
    const dir = unitDir();
    const empty = path.join(tempHome(), "none");
    const missing = await runMedbot(
      ["service", "install", "--system", "--as", user, "--unit-dir", dir, "--no-start"],
      { home: empty },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no config at .*config\.json; run `medbot onboard` first/);
    const unknown = await runMedbot(
      ["service", "install", "--system", "--as", "no-such-medbot-user", "--unit-dir", dir, "--no-start"],
      { home: dataFolder() },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no account named no-such-medbot-user/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("status shows the unit and its user; uninstall removes it", async () => {
    const dir = unitDir();
    const home = dataFolder();
    const args = ["--system", "--unit-dir", dir];
    const before = await runMedbot(["service", "status", ...args, "--json"], { home });
    expect(JSON.parse(before.stdout)).toEqual([
      expect.objectContaining({ mode: "system", installed: false, unitFile: path.join(dir, UNIT) }),
    ]);
    await runMedbot(["service", "install", ...args, "--as", user, "--no-start"], { home });
    const after = await runMedbot(["service", "status", ...args], { home });
    expect(after.stdout).toContain(`system: installed at ${path.join(dir, UNIT)}, runs as ${user}`);
    const removed = await runMedbot(["service", "uninstall", ...args], { home });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`Removed ${path.join(dir, UNIT)}`);
    expect(fs.existsSync(path.join(dir, UNIT))).toBe(false);
    const gone = await runMedbot(["service", "status", ...args], { home });
    expect(gone.stdout).toContain("system: not installed");
  });
});

/** Runs medbot as `owner` (as root we switch to that account, which runMedbot cannot; else we already are it). */
function runAs(owner: NonNullable<typeof account>, args: string[], env: Record<string, string>): RunResult {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MEDBOT_")));
  const child = spawnSync(process.execPath, [MEDBOT_BIN, ...args], {
    encoding: "utf8",
    env: { ...clean, XDG_CONFIG_HOME: "", ...env },
    ...(isRoot ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  if (child.error) throw child.error;
  return { code: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe.skipIf(!account)("medbot service install --user", () => {
  it("writes the unit under ~/.config/systemd/user, running as the invoking user with no User= line", async () => {
    const owner = account as NonNullable<typeof account>;
    const userHome = tempHome("medbot-service-user-");
    const data = path.join(userHome, ".medbot");
    writeConfig(data, { providers: { custom: { apiKey: SECRETS.apiKey } } });
    if (isRoot) execFileSync("chown", ["-R", `${owner.uid}:${owner.gid}`, userHome]);
    const result = runAs(owner, ["service", "install", "--user", "--no-start"], { HOME: userHome });
    expect(result.stderr).not.toMatch(/medbot service/);
    expect(result.code).toBe(0);
    const unit = fs.readFileSync(path.join(userHome, ".config", "systemd", "user", UNIT), "utf8");
    expect(unit).not.toMatch(/^User=/m);
    expect(unit).not.toContain("MEDBOT_HOME"); // the default data folder needs no naming
    expect(settings(unit)).toContain("NoNewPrivileges=yes");
    expect(settings(unit)).toContain("UMask=0077");
    expect(settings(unit)).toContain("WantedBy=default.target");
    expect(unit).not.toContain(SECRETS.apiKey);
    expect(result.stdout).toContain("systemctl --user enable --now medbot-gateway.service");
    expect(result.stdout).toContain(`loginctl enable-linger ${owner.name}`);
  });

  it.skipIf(!isRoot)("refuses a --user service as root: it would run medbot as root", async () => {
    const result = await runMedbot(["service", "install", "--user", "--no-start"], { home: dataFolder() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/would run medbot as root; use --system --as USER/);
  });
});
