// How medbot knows a database "existed": SQLite opens a 0-byte file as a new, empty database, so a
// truncated medbot.db (a full disk, a bad copy, a sync tool) would silently start the family's archive
// afresh. Once a database holds data, a marker file is written beside it (`.medbot.db.created`, 0600,
// with the time it was first seen); an empty database file next to a marker is damage, never a new start.
import * as fs from "node:fs";
import * as path from "node:path";
import { writePrivateFile } from "./private-fs.js";

/** The database file is empty although medbot created it before: refuse to open it. */
export class DatabaseDamagedError extends Error {
  constructor(
    readonly file: string,
    readonly marker: string,
  ) {
    super(
      `The database ${file} is empty (0 bytes), but medbot created it before (see ${marker}): it was truncated or ` +
        "damaged, and medbot will not start the archive afresh over it. Restore medbot.db from a backup; to " +
        `really start with an empty archive, delete both ${file} and ${marker}.`,
    );
  }
}

/** The marker that says `file` once held a medbot database. */
export function creationMarker(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.created`);
}

/** Throws DatabaseDamagedError when `file` is 0 bytes but its creation marker exists. */
export function refuseEmptiedDatabase(file: string): void {
  const marker = creationMarker(file);
  const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
  if (size === 0 && fs.existsSync(marker)) throw new DatabaseDamagedError(file, marker);
}

/** Records that `file` holds a database (once; databases from before the marker get it on their next open). */
export function markDatabaseCreated(file: string, clock: () => Date = () => new Date()): void {
  const marker = creationMarker(file);
  if (fs.existsSync(marker)) return;
  writePrivateFile(marker, `medbot database first seen here at ${clock().toISOString()}\n`);
}
