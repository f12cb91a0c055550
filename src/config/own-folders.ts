// Which folders medbot may treat as its own. It makes the data folder and the workspace 0700, which must never
// happen to a system folder (`chmod 700 /`), the home folder itself, a shared folder or another user's folder:
// such a folder is refused before anything is written or chmodded.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "./load.js";
import type { MedbotPaths } from "./paths.js";

/** Folders of the operating system (Linux and macOS); medbot's data never lives in one of them directly. */
const SYSTEM_FOLDERS = [
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/media",
  "/mnt",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/snap",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/local",
  "/usr/local/bin",
  "/usr/local/lib",
  "/usr/local/share",
  "/usr/sbin",
  "/usr/share",
  "/var",
  "/var/cache",
  "/var/lib",
  "/var/log",
  "/var/mail",
  "/var/run",
  "/var/spool",
  "/var/tmp",
  "/Applications",
  "/Library",
  "/System",
  "/Users",
  "/Volumes",
  "/private",
  "/private/etc",
  "/private/tmp",
  "/private/var",
];

/** Set-user-id, set-group-id and sticky bits: medbot never sets them, so a folder that has one is shared. */
const SHARED_BITS = 0o7000;

/**
 * Why `folder` cannot be medbot's own (a system folder, the home folder or above it, the temp folder, another
 * user's folder, a shared folder), or undefined when medbot may make it private. A folder that does not exist
 * yet is fine: medbot creates it.
 */
export function whyNotOwnFolder(folder: string, uid = process.getuid?.()): string | undefined {
  const resolved = realFolder(folder);
  const shown = resolved === path.resolve(folder) ? folder : `${folder} (${resolved})`;
  if (SYSTEM_FOLDERS.some((system) => realFolder(system) === resolved)) return `${shown} is a system folder`;
  const home = realFolder(os.homedir());
  if (resolved === home) return `${shown} is the home folder itself`;
  if (isAbove(resolved, home)) return `${shown} holds the home folder ${home}`;
  if (resolved === realFolder(os.tmpdir())) return `${shown} is the shared temporary folder`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    return undefined;
  }
  if (uid !== undefined && stat.uid !== uid) {
    return `${shown} belongs to another user (uid ${stat.uid}, medbot runs as uid ${uid})`;
  }
  if ((stat.mode & SHARED_BITS) !== 0) {
    return `${shown} is a shared folder (mode 0${(stat.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

/** Throws a ConfigError (the CLI exits 2) when the data folder or the workspace is not medbot's to make private. */
export function assertOwnFolders(paths: Pick<MedbotPaths, "home" | "workspace" | "configFile">): void {
  const problems = [
    {
      where: "data folder (MEDBOT_HOME, --config or ~/.medbot)",
      folder: paths.home,
      instead: path.join(os.homedir(), ".medbot"),
    },
    {
      where: "agents.defaults.workspace",
      folder: paths.workspace,
      instead: path.join(paths.home, "workspace"),
    },
  ].flatMap(({ where, folder, instead }) => {
    const reason = whyNotOwnFolder(folder);
    return reason
      ? [
          {
            where,
            reason: `${reason}; medbot makes its folders private (0700) and will not change this one. Use a folder of its own, such as ${instead}`,
          },
        ]
      : [];
  });
  if (problems.length > 0) throw new ConfigError(paths.configFile, problems);
}

/** The real path of `folder` (links resolved), or its absolute path if it does not exist. */
function realFolder(folder: string): string {
  try {
    return fs.realpathSync(folder);
  } catch {
    return path.resolve(folder);
  }
}

function isAbove(folder: string, inner: string): boolean {
  const relative = path.relative(folder, inner);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}
