// `medbot service install | status | uninstall`: the gateway as a hardened systemd service, never as root.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config/load.js";
import { resolvePaths } from "../config/paths.js";
import { packagePath } from "../package-root.js";
import {
  checkServiceUser,
  GATEWAY_UNIT,
  gatewayUnit,
  type ServiceMode,
  shebangNodeFlags,
  UnitError,
} from "../setup/systemd-unit.js";
import { writePrivateFile } from "../storage/private-fs.js";
import { CliFailure, type GlobalOptions } from "./startup.js";

const SYSTEM_UNIT_DIR = "/etc/systemd/system";
/** Files owned by "nobody" are shared by every service that runs as it; systemd itself warns against it. */
const NOBODY_UID = 65534;

interface ModeOptions extends GlobalOptions {
  user?: boolean;
  system?: boolean;
  as?: string;
  /** Tests: write and read units here; systemd does not look there, so systemctl is never called. */
  unitDir?: string;
}

interface InstallOptions extends ModeOptions {
  dryRun?: boolean;
  start?: boolean;
}

/** An account from the passwd database. */
interface Account {
  name: string;
  uid: number;
  home: string;
}

/** Registers `medbot service install | status | uninstall`. */
export function registerService(program: Command): void {
  const service = program
    .command("service")
    .description("run the gateway as a hardened systemd service (never as root)");
  const modeOptions = (command: Command): Command =>
    command
      .option("--user", "your own systemd user instance (default)")
      .option("--system", "a system service in /etc/systemd/system (run as root, with --as USER)")
      .option("--unit-dir <dir>", "write/read the unit in this folder and leave systemctl alone (for tests)");

  modeOptions(service.command("install"))
    .description("write the unit for `medbot gateway`, then enable and start it")
    .option("--as <user>", "with --system: the account the gateway runs as (not root)")
    .option("--dry-run", "print the unit and change nothing")
    .option("--no-start", "write the unit only; print the systemctl commands instead of running them")
    .action(async (_options, command: Command) => install(command.optsWithGlobals<InstallOptions>()));

  modeOptions(service.command("status"))
    .description("whether the gateway service is installed (user and system), where, and whether it runs")
    .option("--json", "machine-readable output")
    .action((_options, command: Command) =>
      status(command.optsWithGlobals<ModeOptions & { json?: boolean }>()),
    );

  modeOptions(service.command("uninstall"))
    .description("stop and disable the gateway service and remove its unit")
    .option("--no-stop", "remove the unit only; print the systemctl commands instead of running them")
    .action((_options, command: Command) =>
      uninstall(command.optsWithGlobals<ModeOptions & { stop?: boolean }>()),
    );
}

async function install(options: InstallOptions): Promise<void> {
  const mode = modeOf(options);
  if (options.as && mode !== "system")
    throw new CliFailure("medbot service install: --as goes with --system", 2);
  const account = serviceAccount(mode, options.as);
  const globalConfig = options.config;
  const explicitData = globalConfig !== undefined || Boolean(process.env.MEDBOT_HOME?.trim());
  const defaultDataDir = path.join(account.home, ".medbot");
  const { home: dataDir, configFile } = explicitData
    ? resolvePaths({ configPath: globalConfig })
    : resolvePaths({ configPath: path.join(defaultDataDir, "config.json") });
  const writable: string[] = [];
  let execSandbox = false;
  if (fs.existsSync(configFile)) {
    const { config, paths } = loadConfig({ configPath: configFile });
    if (!isInside(paths.workspace, dataDir)) writable.push(paths.workspace);
    execSandbox = config.tools.exec.enabled;
  } else if (!options.dryRun) {
    throw new CliFailure(
      `medbot service install: there is no config at ${configFile}; run \`medbot onboard\` first${mode === "system" ? ` as ${account.name}` : ""}`,
      2,
    );
  }
  const entry = packagePath("bin", "medbot.mjs");
  let text: string;
  try {
    text = gatewayUnit({
      mode,
      node: process.execPath,
      nodeFlags: shebangNodeFlags(fs.readFileSync(entry, "utf8").split("\n", 1)[0] ?? ""),
      entry,
      dataDir,
      customDataDir: dataDir !== defaultDataDir,
      configFile: path.basename(configFile) === "config.json" ? undefined : configFile,
      writable,
      user: mode === "system" ? account.name : undefined,
      userNamespaces: mode === "system" || userNamespacesAvailable(),
      execSandbox,
      generatedBy: `medbot service install --${mode}${mode === "system" ? ` --as ${account.name}` : ""}`,
    });
  } catch (error) {
    if (error instanceof UnitError) throw new CliFailure(`medbot service install: ${error.message}`, 2);
    throw error;
  }
  if (options.dryRun) {
    process.stdout.write(text);
    return;
  }
  for (const folder of [dataDir, ...writable]) checkOwner(folder, account);
  const unitFile = path.join(unitDirFor(mode, options), GATEWAY_UNIT);
  if (mode === "system" && !options.unitDir && process.getuid?.() !== 0) {
    throw new CliFailure(
      `medbot service install: writing ${unitFile} needs root: sudo medbot --allow-root service install --system --as ${account.name}`,
    );
  }
  writePrivateFile(unitFile, text);
  process.stdout.write(`Wrote ${unitFile} (runs medbot gateway as ${account.name}, data in ${dataDir}).\n`);
  if (mode === "user" && !userNamespacesAvailable()) {
    process.stdout.write(
      "Note: this kernel refuses user namespaces to unprivileged users, so the filesystem sandbox\n" +
        "(ProtectSystem, ProtectHome, PrivateTmp) is left out; --system --as USER keeps it.\n",
    );
  }
  const commands = [["daemon-reload"], ["enable", "--now", GATEWAY_UNIT]].map((args) =>
    systemctlArgs(mode, args),
  );
  if (options.start !== false && !options.unitDir && systemctlUsable(mode)) {
    for (const args of commands) runSystemctl(args);
    process.stdout.write("The gateway service is enabled and started.\n");
  } else {
    process.stdout.write(`To start it now and at every boot, run:\n${commands.map(show).join("\n")}\n`);
  }
  if (mode === "user") {
    process.stdout.write(
      `To keep it running while you are logged out: loginctl enable-linger ${account.name}\n`,
    );
  }
}

function status(options: ModeOptions & { json?: boolean }): void {
  const modes: ServiceMode[] =
    options.unitDir || options.user || options.system ? [modeOf(options)] : ["user", "system"];
  const found = modes.map((mode) => {
    const unitFile = path.join(unitDirFor(mode, options), GATEWAY_UNIT);
    const text = readIfPresent(unitFile);
    const active =
      text !== undefined && !options.unitDir && systemctlUsable(mode)
        ? systemctlQuery(systemctlArgs(mode, ["is-active", GATEWAY_UNIT]))
        : undefined;
    return {
      mode,
      unitFile,
      installed: text !== undefined,
      user: text === undefined ? undefined : (unitValue(text, "User") ?? os.userInfo().username),
      execStart: text === undefined ? undefined : unitValue(text, "ExecStart"),
      active,
    };
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    return;
  }
  const lines = found.map((s) =>
    s.installed
      ? `${s.mode}: installed at ${s.unitFile}, runs as ${s.user}; ${s.active ? `systemctl is-active: ${s.active}` : "state unknown (systemctl not usable here)"}`
      : `${s.mode}: not installed (${s.unitFile})`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

function uninstall(options: ModeOptions & { stop?: boolean }): void {
  const mode = modeOf(options);
  const unitFile = path.join(unitDirFor(mode, options), GATEWAY_UNIT);
  if (!fs.existsSync(unitFile)) {
    process.stdout.write(`The ${mode} gateway service is not installed (${unitFile}).\n`);
    return;
  }
  if (mode === "system" && !options.unitDir && process.getuid?.() !== 0) {
    throw new CliFailure(
      `medbot service uninstall: removing ${unitFile} needs root: sudo medbot --allow-root service uninstall --system`,
    );
  }
  const useSystemctl = options.stop !== false && !options.unitDir && systemctlUsable(mode);
  if (useSystemctl) runSystemctl(systemctlArgs(mode, ["disable", "--now", GATEWAY_UNIT]));
  fs.rmSync(unitFile);
  if (useSystemctl) runSystemctl(systemctlArgs(mode, ["daemon-reload"]));
  process.stdout.write(`Removed ${unitFile}.\n`);
  if (!useSystemctl) {
    const commands = [["disable", "--now", GATEWAY_UNIT], ["daemon-reload"]].map((a) =>
      systemctlArgs(mode, a),
    );
    process.stdout.write(`If it was running, stop it with:\n${commands.map(show).join("\n")}\n`);
  }
}

function modeOf(options: ModeOptions): ServiceMode {
  if (options.user && options.system)
    throw new CliFailure("medbot service: choose --user or --system, not both", 2);
  return options.system ? "system" : "user";
}

/** The account the service runs as: --as USER for system units, the invoking user (never root) for user units. */
function serviceAccount(mode: ServiceMode, as: string | undefined): Account {
  if (mode === "user") {
    const me = os.userInfo();
    if (me.uid === 0) {
      throw new CliFailure(
        "medbot service install: a --user service would run medbot as root; use --system --as USER with an ordinary account",
        2,
      );
    }
    return { name: me.username, uid: me.uid, home: os.homedir() };
  }
  try {
    checkServiceUser(as);
  } catch (error) {
    throw new CliFailure(`medbot service install: ${(error as Error).message}`, 2);
  }
  const account = lookupAccount(as);
  if (!account) throw new CliFailure(`medbot service install: there is no account named ${as}`, 2);
  if (account.uid === NOBODY_UID) {
    throw new CliFailure(
      `medbot service install: ${as} is the shared "nobody" account; create a dedicated one (useradd --system medbot)`,
      2,
    );
  }
  if (account.uid === 0) {
    throw new CliFailure(
      `medbot service install: ${as} has uid 0 (root's powers); choose an ordinary account`,
      2,
    );
  }
  return account;
}

/** Looks an account up through NSS (getent), or /etc/passwd where getent is missing. */
function lookupAccount(name: string): Account | undefined {
  let line: string | undefined;
  try {
    line = execFileSync("getent", ["passwd", name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined; // getent: no such account
    line = readIfPresent("/etc/passwd")
      ?.split("\n")
      .find((l) => l.startsWith(`${name}:`));
  }
  const fields = line?.trim().split(":");
  if (!fields || fields.length < 7 || fields[0] !== name) return undefined;
  return { name, uid: Number(fields[2]), home: fields[5] ?? "/" };
}

/** The gateway writes as the service account, so its folders must be that account's. */
function checkOwner(folder: string, account: Account): void {
  let owner: number;
  try {
    owner = fs.statSync(folder).uid;
  } catch {
    throw new CliFailure(`medbot service install: ${folder} does not exist; run \`medbot onboard\` first`, 2);
  }
  if (owner !== account.uid) {
    throw new CliFailure(
      `medbot service install: ${folder} belongs to uid ${owner}, not ${account.name} (uid ${account.uid}); ` +
        `the gateway runs as ${account.name} and could not use it (chown -R ${account.name} ${folder})`,
      2,
    );
  }
}

function unitDirFor(mode: ServiceMode, options: ModeOptions): string {
  if (options.unitDir) return path.resolve(options.unitDir);
  if (mode === "system") return SYSTEM_UNIT_DIR;
  const config = process.env.XDG_CONFIG_HOME?.trim() || path.join(os.homedir(), ".config");
  return path.join(config, "systemd", "user");
}

/** Whether unprivileged user namespaces exist, which a user unit's filesystem sandbox needs. */
function userNamespacesAvailable(): boolean {
  const setting = (file: string): string | undefined => readIfPresent(file)?.trim();
  if (setting("/proc/sys/user/max_user_namespaces") === "0") return false;
  if (setting("/proc/sys/kernel/unprivileged_userns_clone") === "0") return false;
  return setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") !== "1";
}

/** systemd is the running init (sd_booted) and, for --user, this user's manager answers. */
function systemctlUsable(mode: ServiceMode): boolean {
  if (!fs.existsSync("/run/systemd/system")) return false;
  if (mode === "system") return true;
  return spawnSync("systemctl", ["--user", "show-environment"], { stdio: "ignore" }).status === 0;
}

function systemctlArgs(mode: ServiceMode, args: string[]): string[] {
  return mode === "user" ? ["--user", ...args] : args;
}

function runSystemctl(args: string[]): void {
  const result = spawnSync("systemctl", args, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new CliFailure(
      `medbot service: ${show(args)} failed: ${(result.stderr || result.error?.message || "").trim()}`,
    );
  }
}

function systemctlQuery(args: string[]): string {
  const result = spawnSync("systemctl", args, { encoding: "utf8" });
  return (result.stdout || "unknown").trim();
}

function show(args: string[]): string {
  return `  systemctl ${args.join(" ")}`;
}

function unitValue(text: string, key: string): string | undefined {
  return text
    .split("\n")
    .find((line) => line.startsWith(`${key}=`))
    ?.slice(key.length + 1);
}

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}
