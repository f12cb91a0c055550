// Doctor's scheduled-sends check: the heartbeat target, reminder chats and cron jobs whose chat may no longer
// receive scheduled messages (src/access/scheduled-chats.ts). Such sends are held, not sent; the owner should
// know why they stopped. Reads the database read-only; doctor never creates it.
import * as fs from "node:fs";
import Database from "better-sqlite3";
import { hostOwner } from "../access/actor.js";
import { configuredTargetRefusals, heldReason, scheduledChatRefusal } from "../access/scheduled-chats.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import { CronJobStore } from "../schedules/cron-jobs.js";
import { type Db, openDatabase } from "../storage/db.js";
import type { Finding } from "./doctor.js";

/** scheduled.held: configured targets and active cron jobs whose chat may not receive scheduled sends now. */
export function checkScheduledTargets(config: MedbotConfig, paths: Pick<MedbotPaths, "database">): Finding[] {
  return withDatabase(paths.database, (db) => [
    ...configuredTargetRefusals(config, db).map((refusal) => ({
      id: "scheduled.held",
      severity: "medium" as const,
      what: refusal,
      why: "medbot sends scheduled messages only to a person's chat that its enabled channel lets in; these are held, so reminders or findings the household expects do not arrive.",
      fix: "Let that person in (channels.<channel>.allowFrom or medbot pairing approve) and list the chat under their identities in people, or point the key at another person's chat.",
      fixable: false,
    })),
    ...heldJobs(config, db).map(({ id, reason }) => ({
      id: "scheduled.held",
      severity: "medium" as const,
      what: `cron job #${id} is held: ${reason}.`,
      why: "The job's chat lost access since the job was made, so it is not sent (medbot cron list shows it too).",
      fix: `Remove it with medbot cron remove ${id}, or let the chat in again if it should still receive it.`,
      fixable: false,
    })),
  ]);
}

/** Active jobs whose chat may not receive scheduled sends now, with why. */
function heldJobs(config: MedbotConfig, db: Db): { id: number; reason: string }[] {
  const held: { id: number; reason: string }[] = [];
  for (const job of new CronJobStore(db).list(hostOwner("cli"), { all: true })) {
    const why = scheduledChatRefusal(config, db, job.target);
    if (why) held.push({ id: job.id, reason: heldReason(job.target, why) });
  }
  return held;
}

/** Runs `check` on the database read-only, or on an empty in-memory one when there is none (or it is too old). */
function withDatabase(file: string, check: (db: Db) => Finding[]): Finding[] {
  if (fs.existsSync(file)) {
    let db: Db | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      return check(db);
    } catch {
      // A database from before these tables: the configured targets are still checked below.
    } finally {
      db?.close();
    }
  }
  const empty = openDatabase(":memory:");
  try {
    return check(empty);
  } finally {
    empty.close();
  }
}
