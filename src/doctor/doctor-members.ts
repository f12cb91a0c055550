// Doctor's check for config keys that still name a member who was merged or removed (medbot family merge /
// remove): the person granted only that id sees nobody, and its reminder chats get nothing. medbot never
// edits config.json, so the owner is told which key to change. Reads the database read-only.
import * as fs from "node:fs";
import Database from "better-sqlite3";
import { configReferencesTo } from "../access/member-references.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Finding } from "./doctor.js";

interface Retirement {
  memberId: string;
  mergedInto: string | null;
}

/** config.retired-member: people grants and reminder chats that name a merged or removed member id. */
export function checkRetiredMembers(config: MedbotConfig, paths: Pick<MedbotPaths, "database">): Finding[] {
  return retirements(paths.database).flatMap(({ memberId, mergedInto }) =>
    configReferencesTo(config, memberId).map((key) => ({
      id: "config.retired-member",
      severity: "medium" as const,
      what: `${key} names ${memberId}, which was ${mergedInto ? `merged into ${mergedInto}` : "removed"}.`,
      why: "A member who was merged or removed no longer answers: a person granted only that id sees nobody, and reminders for it are not sent.",
      fix: mergedInto
        ? `Change ${memberId} to ${mergedInto} at ${key} in config.json.`
        : `Remove ${memberId} from ${key} in config.json.`,
      fixable: false,
    })),
  );
}

/** Merged and removed members, or none when there is no database (or it predates member_retirements). */
function retirements(file: string): Retirement[] {
  if (!fs.existsSync(file)) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db
      .prepare(
        "SELECT member_id AS memberId, merged_into AS mergedInto FROM member_retirements ORDER BY member_id",
      )
      .all() as Retirement[];
  } catch {
    return [];
  } finally {
    db?.close();
  }
}
