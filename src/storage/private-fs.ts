// The only way medbot writes to disk: folders 0700, files 0600, whatever the umask; writes are atomic.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` and any missing parents as 0700 (explicit chmod, so the umask cannot loosen them). */
export function ensurePrivateDir(dir: string): void {
  const missing: string[] = [];
  let cursor = path.resolve(dir);
  while (!fs.existsSync(cursor)) {
    missing.unshift(cursor);
    const parent = path.dirname(cursor);
    if (parent === cursor) break;
    cursor = parent;
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder, { mode: PRIVATE_DIR_MODE });
    } catch (error) {
      // Another process created it first; it is still ours to make private.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    fs.chmodSync(folder, PRIVATE_DIR_MODE);
  }
}

/** Writes `file` atomically (temp file, fsync, rename) with mode 0600; creates its folder as 0700. */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  ensurePrivateDir(dir);
  const temp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const fd = fs.openSync(temp, "wx", PRIVATE_FILE_MODE);
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  syncDir(dir);
}

/**
 * Writes `file` like writePrivateFile, but only if it does not exist yet: of two processes creating it at
 * once, one wins and the other's content is dropped (false). For a secret that must never be replaced.
 */
export function writePrivateFileOnce(file: string, data: string | Uint8Array): boolean {
  const target = path.resolve(file);
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  writePrivateFile(temp, data);
  try {
    fs.linkSync(temp, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
  syncDir(path.dirname(target));
  return true;
}

/**
 * Deletes temp files a killed writer left in `dir` (`.<name>.<pid>.<hex>.tmp` of a process that is gone):
 * they may hold health data the user has since corrected. Returns how many were removed.
 */
export function removeOrphanedTemps(dir: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const match = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
    if (!match || processIsAlive(Number(match[1]))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Creates an empty 0600 file if it does not exist yet (for files another library then opens, like SQLite). */
export function touchPrivateFile(file: string): void {
  ensurePrivateDir(path.dirname(file));
  const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY, PRIVATE_FILE_MODE);
  fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  fs.closeSync(fd);
}

/** A path whose mode was looser than medbot's and has been tightened. */
export interface TightenedPath {
  path: string;
  was: number;
  now: number;
}

/**
 * Removes group and other permissions from each existing path that is the user's own; returns what changed.
 * A symbolic link (whose target may be anyone's file) and a path another user owns are left as they are.
 */
export function tightenModes(paths: readonly string[], uid = process.getuid?.()): TightenedPath[] {
  const changed: TightenedPath[] = [];
  for (const p of paths) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink() || (uid !== undefined && stat.uid !== uid)) continue;
    const was = stat.mode & 0o777;
    const now = stat.isDirectory() ? PRIVATE_DIR_MODE : was & 0o700;
    if (was !== now) {
      fs.chmodSync(p, now);
      changed.push({ path: p, was, now });
    }
  }
  return changed;
}

/** `0o755` as "0755", for messages. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a folder; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
