// The gateway's systemd unit: hardened, never root, no secrets, paths taken literally, and accepted by systemd.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  type GatewayUnitOptions,
  gatewayUnit,
  shebangNodeFlags,
  UnitError,
} from "../../src/setup/systemd-unit.js";
import { hardeningLines, ordinaryAccount, settings, verifyUnit } from "../support/systemd.js";

const ENTRY = fileURLToPath(new URL("../../bin/medbot.mjs", import.meta.url));

function options(overrides: Partial<GatewayUnitOptions> = {}): GatewayUnitOptions {
  return {
    mode: "system",
    node: process.execPath,
    nodeFlags: ["--max-semi-space-size=1"],
    entry: ENTRY,
    dataDir: "/home/alice/.medbot",
    customDataDir: false,
    writable: [],
    user: "alice",
    userNamespaces: true,
    generatedBy: "medbot service install --system --as alice",
    ...overrides,
  };
}

describe("gatewayUnit (system)", () => {
  const unit = gatewayUnit(options());

  it("runs medbot gateway with absolute node and entry paths, as the named user", () => {
    expect(unit).toContain(`\nExecStart=${process.execPath} --max-semi-space-size=1 ${ENTRY} gateway\n`);
    expect(unit).toContain("\nUser=alice\n");
    expect(unit).toContain("\nWantedBy=multi-user.target\n");
    expect(unit).toContain("\nRestart=on-failure\n");
    expect(unit).toContain("\nRestartPreventExitStatus=2\n"); // a config error is not fixed by restarting
  });

  it("carries every hardening line, and only the data folder writable: not the code it runs", () => {
    for (const line of hardeningLines("system")) expect(settings(unit)).toContain(line);
    expect(unit).toContain("\nReadWritePaths=/home/alice/.medbot\n");
  });

  it("never sets MemoryDenyWriteExecute (V8's JIT needs it off)", () => {
    expect(settings(unit).some((line) => line.startsWith("MemoryDenyWriteExecute="))).toBe(false);
  });

  it("names the data folder only when it is not the user's default", () => {
    expect(unit).not.toContain("MEDBOT_HOME");
    const custom = gatewayUnit(options({ dataDir: "/srv/medbot", customDataDir: true }));
    expect(custom).toContain("\nEnvironment=MEDBOT_HOME=/srv/medbot\n");
    expect(custom).toContain("\nEnvironmentFile=-/srv/medbot/gateway.env\n");
  });

  it("passes a config file not named config.json with --config", () => {
    const unit = gatewayUnit(options({ configFile: "/srv/medbot/family.json", customDataDir: true }));
    expect(unit).toMatch(/^ExecStart=.* --config \/srv\/medbot\/family\.json gateway$/m);
    expect(unit).not.toContain("MEDBOT_HOME");
  });

  it("refuses root, a missing user and malformed account names", () => {
    expect(() => gatewayUnit(options({ user: "root" }))).toThrow(/does not run as root/);
    expect(() => gatewayUnit(options({ user: "0" }))).toThrow(UnitError);
    expect(() => gatewayUnit(options({ user: undefined }))).toThrow(/--as USER/);
    expect(() => gatewayUnit(options({ user: "alice\nUser=root" }))).toThrow(/not a valid account name/);
  });

  it("quotes paths with spaces, doubles % and $, and refuses what systemd would unescape", () => {
    const unit = gatewayUnit(
      options({
        dataDir: "/home/alice/health 100%",
        customDataDir: true,
        entry: "/opt/med$bot/bin/medbot.mjs",
      }),
    );
    expect(unit).toContain('\nEnvironment="MEDBOT_HOME=/home/alice/health 100%%"\n');
    expect(unit).toContain('\nReadWritePaths="/home/alice/health 100%%"\n');
    expect(unit).toContain(" /opt/med$$bot/bin/medbot.mjs gateway\n");
    expect(unit).toContain("\nEnvironmentFile=-/home/alice/health 100%%/gateway.env\n");
    expect(() => gatewayUnit(options({ dataDir: '/home/a"b' }))).toThrow(/quotes, backslashes/);
    expect(() => gatewayUnit(options({ dataDir: "/home/a\\b" }))).toThrow(UnitError);
    expect(() => gatewayUnit(options({ dataDir: "/home/a\nExecStartPre=/bin/sh" }))).toThrow(UnitError);
    expect(() => gatewayUnit(options({ dataDir: "relative/.medbot" }))).toThrow(/absolute path/);
  });
});

describe("gatewayUnit (user)", () => {
  it("has no User= and no capability lines, and is wanted by default.target", () => {
    const unit = gatewayUnit(options({ mode: "user", user: undefined }));
    expect(unit).not.toMatch(/^User=/m);
    expect(unit).not.toMatch(/^CapabilityBoundingSet=/m);
    expect(unit).toContain("\nWantedBy=default.target\n");
    for (const line of hardeningLines("user")) expect(settings(unit)).toContain(line);
  });

  it("leaves the namespace sandbox out where unprivileged user namespaces are refused, keeping the rest", () => {
    const unit = gatewayUnit(options({ mode: "user", user: undefined, userNamespaces: false }));
    for (const key of ["ProtectSystem", "ProtectHome", "PrivateTmp", "ReadWritePaths"]) {
      expect(unit).not.toMatch(new RegExp(`^${key}=`, "m"));
    }
    for (const line of [
      "NoNewPrivileges=yes",
      "UMask=0077",
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ]) {
      expect(settings(unit)).toContain(line);
    }
  });
});

describe("gatewayUnit with tools.exec enabled", () => {
  const unit = gatewayUnit(options({ execSandbox: true }));

  it("relaxes only what exec's bubblewrap sandbox needs: its namespaces, netlink, a fresh /proc", () => {
    expect(settings(unit)).toContain("RestrictNamespaces=user mnt pid net ipc uts cgroup");
    expect(settings(unit)).toContain("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK");
    expect(settings(unit)).not.toContain("ProtectKernelTunables=yes");
    expect(settings(unit)).not.toContain("RestrictNamespaces=yes");
    const relaxed = [
      "RestrictNamespaces=yes",
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
      "ProtectKernelTunables=yes",
    ];
    for (const line of hardeningLines("system").filter((l) => !relaxed.includes(l)))
      expect(settings(unit)).toContain(line);
  });

  it("keeps the strict lines when exec is off", () => {
    const strict = settings(gatewayUnit(options({ execSandbox: false })));
    expect(strict).toContain("RestrictNamespaces=yes");
    expect(strict).toContain("ProtectKernelTunables=yes");
  });

  it("is accepted by systemd-analyze verify", async (context) => {
    const account = ordinaryAccount()?.name;
    if (!account) return context.skip("no ordinary (non-root, non-nobody) account on this machine");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot unit exec "));
    const verdict = verifyUnit(
      gatewayUnit(options({ dataDir, customDataDir: true, user: account, execSandbox: true })),
      "system",
    );
    if ("skip" in verdict) return context.skip(verdict.skip);
    expect(verdict.output).toBe("");
    expect(verdict.status).toBe(0);
  });
});

describe("shebangNodeFlags", () => {
  it("reads the V8 flags of medbot's own shebang", () => {
    const first = fs.readFileSync(ENTRY, "utf8").split("\n", 1)[0] ?? "";
    expect(shebangNodeFlags(first)).toEqual(first.split(/\s+/).slice(first.split(/\s+/).indexOf("node") + 1));
    expect(shebangNodeFlags("#!/usr/bin/env -S node --a=1 --b")).toEqual(["--a=1", "--b"]);
    expect(shebangNodeFlags("#!/usr/bin/env node")).toEqual([]);
  });
});

describe("systemd-analyze verify", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot unit "));
  const account = ordinaryAccount()?.name;

  it("accepts the system unit, with no warning about any line", async (context) => {
    if (!account) return context.skip("no ordinary (non-root, non-nobody) account on this machine");
    const unit = gatewayUnit(options({ dataDir, customDataDir: true, user: account }));
    const verdict = verifyUnit(unit, "system");
    if ("skip" in verdict) return context.skip(verdict.skip);
    expect(verdict.output).toBe("");
    expect(verdict.status).toBe(0);
  });

  it("accepts the user unit", async (context) => {
    const unit = gatewayUnit(options({ mode: "user", user: undefined, dataDir, customDataDir: true }));
    const verdict = verifyUnit(unit, "user");
    if ("skip" in verdict) return context.skip(verdict.skip);
    expect(verdict.output).toBe("");
    expect(verdict.status).toBe(0);
  });

  it("would catch a bad line (the check can fail)", async (context) => {
    const unit = gatewayUnit(options({ dataDir, customDataDir: true, user: account ?? "daemon" }));
    const verdict = verifyUnit(unit.replace("[Install]", "MemoryDenyWriteExcute=yes\n\n[Install]"), "system");
    if ("skip" in verdict) return context.skip(verdict.skip);
    expect(verdict.output).toMatch(/Unknown key.*MemoryDenyWriteExcute/);
  });
});
