// exec's sandbox: bubblewrap (bwrap) gives each command a private view of the machine in which medbot's
// database, config, logs and WhatsApp session are absent and the archive read-only, with no network (unless
// configured), no gateway environment and its own pid namespace, so the whole process tree ends with it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Actor } from "../../access/actor.js";
import { PROMPT_FILES } from "../context.js";

/** What to run when bwrap is missing (Debian and Ubuntu). */
export const BUBBLEWRAP_FIX = "apt-get install bubblewrap";

/** The search path inside the sandbox: system folders only, whatever the gateway's PATH holds. */
export const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Read-only system folders: programs and their libraries. A symlink (merged /usr) stays a symlink. */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** The few /etc files programs need to start, name users, read the time zone and (with network) resolve. */
const SYSTEM_ETC = [
  "/etc/alternatives",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/localtime",
  "/etc/passwd",
  "/etc/group",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/resolv.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/mime.types",
];

/**
 * Workspace entries that are never in the sandbox: the database, its audit head and created-marker files, and
 * the data folder's secrets (the audit head's signing key among them) and the bridge's socket folder (run/)
 * for a workspace configured to be the data folder (or the home holding .medbot).
 */
const NEVER_SHOWN =
  /^(medbot\.db(-wal|-shm|-journal|-audit-head\.json)?|\.medbot\.db\.created|audit-signing\.key|config\.json|gateway\.env|logs|whatsapp-auth|run|\.medbot)$/;

/** What medbot writes itself and what holds every member: read-only, and only for owners (they see all). */
const OWNERS_READ_ONLY = new Set(["family", "media", "memory", "USER.md"]);

/**
 * What steers the assistant (its prompt files, heartbeat tasks and skills): read-only, so a command cannot
 * plant lasting instructions; they are changed deliberately with the file tools.
 */
const READ_ONLY = new Set<string>([...PROMPT_FILES, "HEARTBEAT.md", "skills"]);

/** The full path of bwrap on `searchPath` (absolute entries only), or undefined when it is not installed. */
export function locateBubblewrap(searchPath: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, "bwrap");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/** Why exec cannot run without bwrap, and the fix; shown by the agent at start and by the tool. */
export function missingBubblewrapReason(): string {
  return `exec needs bubblewrap (bwrap) to sandbox commands and it is not on PATH, so exec is not offered. Install it: ${BUBBLEWRAP_FIX}.`;
}

/** Probe results by bwrap path and network setting: one short run per gateway start, not per command. */
const probes = new Map<string, string | undefined>();

/**
 * Why exec cannot run here, or undefined when it can: bwrap missing from `searchPath`, or present but unable
 * to build the sandbox (user namespaces refused by the kernel, AppArmor or a service's RestrictNamespaces=).
 */
export function execSandboxProblem(
  network: boolean,
  searchPath: string = process.env.PATH ?? "",
): string | undefined {
  const bwrap = locateBubblewrap(searchPath);
  if (!bwrap) return missingBubblewrapReason();
  const key = `${bwrap}\0${network}`;
  if (!probes.has(key)) probes.set(key, probe(bwrap, network));
  const failure = probes.get(key);
  return failure === undefined
    ? undefined
    : `exec's sandbox cannot start here (${bwrap}: ${failure}), so exec is not offered. bwrap needs unprivileged user namespaces: allow them (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 an AppArmor profile for bwrap), and reinstall medbot's service (medbot service install) after enabling exec.`;
}

/** bwrap's own complaint when it cannot build an empty sandbox of the kind exec uses. */
function probe(bwrap: string, network: boolean): string | undefined {
  const result = spawnSync(bwrap, [...isolation(network), ...systemView(), "/bin/true"], {
    env: {},
    encoding: "utf8",
    timeout: 10_000,
  });
  if (result.status === 0) return undefined;
  const said = (result.stderr ?? "").trim().split("\n")[0];
  return said || result.error?.message || `exit ${result.status ?? result.signal}`;
}

export interface SandboxOptions {
  /** The workspace's real path: the command's working folder and HOME. */
  workspace: string;
  actor: Actor;
  /** tools.exec.network: share the host's network instead of an empty network namespace. */
  network: boolean;
  /** Variables the command sees; nothing else of the gateway's environment reaches it. */
  environment: Record<string, string>;
}

/** bwrap's arguments for running `command` with /bin/sh in the sandbox described by `options`. */
export function sandboxArguments(command: string, options: SandboxOptions): string[] {
  const { workspace, network, environment } = options;
  const args = [
    ...isolation(network),
    "--clearenv",
    ...Object.entries(environment).flatMap(([name, value]) => ["--setenv", name, value]),
    ...systemView(),
    ...workspaceView(options),
    "--chdir",
    workspace,
    "/bin/sh",
    "-c",
    command,
  ];
  return args;
}

/** New namespaces of every kind (the network's only without `network`), no capabilities, fresh /proc /dev /tmp. */
function isolation(network: boolean): string[] {
  return [
    "--unshare-all",
    ...(network ? ["--share-net"] : []),
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    // Before the workspace: a workspace under /tmp is then built on this empty tmpfs.
    "--tmpfs",
    "/tmp",
  ];
}

function systemView(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    const stat = lstatIfExists(dir);
    if (stat?.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(dir), dir);
    else if (stat?.isDirectory()) args.push("--ro-bind", dir, dir);
  }
  for (const entry of SYSTEM_ETC) args.push("--ro-bind-try", entry, entry);
  return args;
}

/**
 * The workspace as the command sees it: an empty folder into which each of the workspace's own entries is
 * bound (writable), except the database and secrets (absent), the archive's views, received files and memory
 * (read-only, owners only), and the prompt files and skills (read-only).
 * New files at its top level are discarded with the sandbox; files inside bound folders persist.
 */
function workspaceView({ workspace, actor }: SandboxOptions): string[] {
  const args = ["--dir", workspace];
  for (const entry of fs.readdirSync(workspace, { withFileTypes: true })) {
    const name = entry.name;
    const target = path.join(workspace, name);
    if (NEVER_SHOWN.test(name)) continue;
    const owners = OWNERS_READ_ONLY.has(name);
    if (owners || READ_ONLY.has(name)) {
      const shown = (actor.grants === "*" || !owners) && (entry.isDirectory() || entry.isFile());
      if (shown) args.push("--ro-bind", target, target);
      continue;
    }
    // A symlink stays a link: what it points to outside the workspace is not in the sandbox.
    if (entry.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(target), target);
    else if (entry.isDirectory() || entry.isFile()) args.push("--bind", target, target);
    // Sockets, pipes and devices are left out.
  }
  return args;
}

function lstatIfExists(target: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(target);
  } catch {
    return undefined;
  }
}
