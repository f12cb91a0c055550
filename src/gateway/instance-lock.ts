// One gateway per data folder: a second `medbot gateway` on the same folder would poll the same chats and
// send replies twice. The lock is a small SQLite file, `<data folder>/run/gateway.lock`, opened in
// EXCLUSIVE locking mode and written once: SQLite then holds its POSIX lock on the file until the
// connection closes, and the kernel drops that lock when the process dies, even by kill -9, so a crash
// never leaves a stale lock (unlike a pid file or a socket path that must be cleaned up). Node has no
// flock; SQLite's locking is the portable one we already ship. Who holds the lock (pid, start time, health
// address) is written beside it in `gateway.json`, so a refused second gateway can name the running one.
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { touchPrivateFile, writePrivateFile } from "../storage/private-fs.js";

/** What a running gateway says about itself next to its lock. */
export interface GatewayHolder {
  pid: number;
  startedAt: string;
  health: string;
}

/** A held gateway lock; release() on a clean stop (a crash releases it too). */
export interface GatewayLock {
  release(): void;
}

/** Another gateway holds the data folder; the message names it and what to do. */
export class GatewayAlreadyRunning extends Error {
  constructor(
    readonly home: string,
    readonly holder: GatewayHolder | undefined,
  ) {
    const who = holder
      ? `pid ${holder.pid}, started ${holder.startedAt}, health ${holder.health}`
      : "it has not written its details yet";
    super(
      `another medbot gateway is already running on the data folder ${home} (${who}); ` +
        "stop it first, or give this one its own data folder (MEDBOT_HOME or --config).",
    );
  }
}

/** The lock file and the holder's details for the data folder `home`. */
export function gatewayLockPaths(home: string): { lock: string; holder: string } {
  const run = path.join(home, "run");
  return { lock: path.join(run, "gateway.lock"), holder: path.join(run, "gateway.json") };
}

/**
 * Takes the data folder's gateway lock for this process's life and records who holds it; throws
 * GatewayAlreadyRunning (naming the holder) when another live process has it.
 */
export function lockGateway(home: string, health: string, clock: () => Date = () => new Date()): GatewayLock {
  const files = gatewayLockPaths(home);
  touchPrivateFile(files.lock);
  const db = new Database(files.lock);
  try {
    db.pragma("busy_timeout = 0");
    db.pragma("locking_mode = EXCLUSIVE");
    // No journal file beside the lock: its content does not matter, only the lock does.
    db.pragma("journal_mode = MEMORY");
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;");
    db.prepare("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
    db.exec("COMMIT");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      throw new GatewayAlreadyRunning(home, readHolder(files.holder));
    }
    throw error;
  }
  const holder: GatewayHolder = { pid: process.pid, startedAt: clock().toISOString(), health };
  writePrivateFile(files.holder, `${JSON.stringify(holder)}\n`);
  return {
    release() {
      fs.rmSync(files.holder, { force: true });
      db.close();
    },
  };
}

function readHolder(file: string): GatewayHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<GatewayHolder>;
    if (typeof parsed.pid !== "number" || typeof parsed.startedAt !== "string") return undefined;
    // Left by a gateway that died: the new holder has not written its own details yet.
    if (!isAlive(parsed.pid)) return undefined;
    return { pid: parsed.pid, startedAt: parsed.startedAt, health: String(parsed.health) };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
