// The family archive for one CLI command: database, archive and view renderer; close() renders the views
// of every member the command changed (still stale), then closes the database.
import * as fs from "node:fs";
import { ArchiveError, FamilyArchive } from "../archive/archive.js";
import { MemberLookupError } from "../archive/members.js";
import { useHouseholdUnits } from "../archive/metric-units.js";
import { ViewRenderer } from "../archive/render.js";
import type { MedbotPaths } from "../config/paths.js";
import { type Db, openDatabase } from "../storage/db.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

export interface ArchiveSession {
  db: Db;
  archive: FamilyArchive;
  renderer: ViewRenderer;
  /** Renders stale views (a failure is reported on stderr; the marks stay for the next start), closes the db. */
  close(): void;
}

/** Opens the instance's archive for a command (readings shown in the household's `units`); always call close(). */
export function openArchive(paths: MedbotPaths, units?: Record<string, string>): ArchiveSession {
  const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
  useHouseholdUnits(db, units);
  const archive = new FamilyArchive(db);
  const renderer = new ViewRenderer(paths.workspace, archive, (message) =>
    process.stderr.write(`medbot: ${message}; run medbot family rebuild-views\n`),
  );
  return {
    db,
    archive,
    renderer,
    close() {
      try {
        renderer.flushNow();
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Opens the instance's archive for one command, runs `work` and closes it (rendering the views of members
 * it changed). Refusals (unknown member, bad value, bad date) become one-line CLI failures that changed
 * nothing. `create`: make the database if it is missing; otherwise a missing archive is a failure.
 */
export async function withArchive<T>(
  options: GlobalOptions,
  work: (session: ArchiveSession, paths: MedbotPaths) => T | Promise<T>,
  create = false,
): Promise<T> {
  const { paths, config } = openInstance(options);
  if (!create && !fs.existsSync(paths.database)) {
    throw new CliFailure(
      `No family archive yet at ${paths.database}; add a member first (medbot family add).`,
    );
  }
  const session = openArchive(paths, config.archive.units);
  try {
    return await work(session, paths);
  } catch (error) {
    if (error instanceof ArchiveError || error instanceof MemberLookupError || error instanceof RangeError) {
      throw new CliFailure(error.message);
    }
    throw error;
  } finally {
    session.close();
  }
}
