// /healthz must not say "ok" while nothing can be stored: this remembers the gateway's last failed write
// (disk full, read-only or failing database) and probes cheaply (free space, the page limit, one heartbeat
// row) at most once per interval, so a full disk or an unwritable database shows as "degraded" with why.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "../log.js";
import { type Db, nowIso, statement } from "../storage/db.js";

/** Below this much free space on the database's disk, new records may not fit: report it. */
const MIN_FREE_BYTES = 1024 * 1024;
/** Error codes that mean the database cannot be written (not a bug in one query). */
const STORAGE_ERROR = /^(SQLITE_(FULL|READONLY|IOERR|CANTOPEN)|ENOSPC|EROFS|EDQUOT|EIO)/;

/** The storage problem an error shows, or undefined for any other error. */
export function storageProblemOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || !STORAGE_ERROR.test(code)) return undefined;
  const detail = error instanceof Error ? error.message : String(error);
  if (/FULL|ENOSPC|EDQUOT/.test(code)) return `the database or its disk is full (${code}: ${detail})`;
  return `the database cannot be written (${code}: ${detail})`;
}

const BUSY = Symbol("another writer holds the lock");

/** Whether the gateway's database can take writes, as /healthz reports it. */
export class StorageHealth {
  private failedWrite: string | undefined;
  private probedAt = Number.NEGATIVE_INFINITY;
  private probed: string | undefined;
  private reported: string | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly probeIntervalMs: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Records a failed write if it was a storage failure; it stands until a probe finds storage writable. */
  noteWriteError(error: unknown): void {
    const problem = storageProblemOf(error);
    if (!problem) return;
    this.failedWrite = problem;
    this.probedAt = Date.now();
    this.announce();
  }

  /** The current storage problem, or undefined when the database can be written (probes when due). */
  problem(): string | undefined {
    if (Date.now() - this.probedAt >= this.probeIntervalMs) this.probe();
    return this.failedWrite ?? this.probed;
  }

  private probe(): void {
    this.probedAt = Date.now();
    const found = this.lowDisk() ?? this.pageLimit() ?? this.heartbeat();
    // Another writer held the lock past the busy timeout: that says nothing about the storage; keep the state.
    if (found === BUSY) return;
    this.probed = found;
    if (!this.probed) this.failedWrite = undefined;
    this.announce();
  }

  private lowDisk(): string | undefined {
    if (this.db.memory) return undefined;
    try {
      const stats = fs.statfsSync(path.dirname(this.db.name));
      const free = stats.bavail * stats.bsize;
      if (free < MIN_FREE_BYTES) return `the disk holding the database is full (${free} bytes free)`;
    } catch {
      // statfs is unavailable on this system; the heartbeat write still tells.
    }
    return undefined;
  }

  private pageLimit(): string | undefined {
    // At its page limit the database can grow no further; its few free pages do not hold a message for long.
    const pages = this.db.pragma("page_count", { simple: true }) as number;
    const limit = this.db.pragma("max_page_count", { simple: true }) as number;
    return pages >= limit ? `the database is full (${pages} of at most ${limit} pages)` : undefined;
  }

  private heartbeat(): string | typeof BUSY | undefined {
    try {
      statement(
        this.db,
        "INSERT INTO gateway_heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
      ).run(nowIso(this.clock));
      return undefined;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && /^SQLITE_(BUSY|LOCKED)/.test(code)) return BUSY;
      return storageProblemOf(error) ?? `the database cannot be written (${String(error)})`;
    }
  }

  /** Logs each change of state once: why it is degraded, or that it recovered. */
  private announce(): void {
    const now = this.failedWrite ?? this.probed;
    if (now === this.reported) return;
    if (now)
      this.log.warn({ problem: now }, `storage degraded: ${now}; replies and records cannot be stored`);
    else this.log.info("storage writable again");
    this.reported = now;
  }
}
