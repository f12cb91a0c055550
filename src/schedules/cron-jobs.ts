// Cron jobs: messages a person schedules back into their own chat (appointments, refills, measurements).
// A job belongs to the person and chat that made it: a person lists and removes only their own jobs in that
// chat; an owner (grants "*") sees every job of a chat, and with `all` every job of the household.
// A job goes only to a chat that may receive scheduled sends (src/access/scheduled-chats.ts), checked when it
// is added and again at every delivery; an occurrence held at delivery shows in the job's listing, with why.
import type { Actor } from "../access/actor.js";
import { scheduleRefusal } from "../access/scheduled-chats.js";
import type { ChatTarget } from "../config/chat-target.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Db } from "../storage/db.js";
import { hostTimeZone } from "../time/dates.js";
import {
  describeSchedule,
  formatInZone,
  nextOccurrence,
  occurrencesBetween,
  parseSchedule,
  type Schedule,
  ScheduleError,
  type ScheduleInput,
} from "./schedule.js";
import { DEFAULT_GRACE_MS, type DeliveryOutcome, type DueEvent, type DueSource } from "./types.js";

/** A stored job. */
export interface CronJob {
  id: number;
  ownerPerson: string;
  target: ChatTarget;
  message: string;
  schedule: Schedule;
  graceMs: number;
  createdAt: Date;
}

/** A job as lists show it: with its next run (undefined once an `at` job has passed). */
export interface ListedCronJob extends CronJob {
  nextRun: Date | undefined;
  /** Set when the job's latest occurrence was held because its chat lost access: why, and when. */
  held?: { reason: string; at: Date };
}

/** Which jobs a caller asks about: one chat's, or (owners only) all. */
export type JobScope = { chat: Pick<ChatTarget, "channel" | "chatId"> } | { all: true };

interface JobRow {
  id: number;
  owner_person: string;
  channel: string;
  account: string;
  chat_id: string;
  message: string;
  kind: Schedule["kind"];
  spec: string;
  timezone: string;
  grace_ms: number;
  created_at: string;
}

const MAX_MESSAGE_CHARS = 1000;
/** Active jobs per chat at most: a runaway model cannot flood a chat with schedules. */
const MAX_JOBS_PER_CHAT = 50;
const ACTIVE = "removed_at IS NULL AND done_at IS NULL";

/** The timezone of a person's schedules: theirs in config people.<name>.timezone, else the host's. */
export function personTimeZone(config: MedbotConfig | undefined, person: string): string {
  return config?.people[person]?.timezone ?? hostTimeZone();
}

/** The job table: add, list and remove, each checked against who asks and from which chat. */
export class CronJobStore {
  constructor(
    readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Adds a job sending `message` to `chat` on the schedule; refuses bad input naming the field, and a chat that
   * may not receive scheduled sends under `options.config` naming the chat and why.
   */
  add(
    actor: Actor,
    chat: ChatTarget,
    message: string,
    input: ScheduleInput,
    options: { timezone: string; graceMs?: number; config: MedbotConfig },
  ): ListedCronJob {
    const refusal = scheduleRefusal(options.config, this.db, chat);
    if (refusal) throw new ScheduleError(refusal);
    const text = message.trim();
    if (!text) throw new ScheduleError('message is empty; give the text to send, like "Blood test at 9".');
    if (text.length > MAX_MESSAGE_CHARS) {
      throw new ScheduleError(`message is ${text.length} characters; keep it under ${MAX_MESSAGE_CHARS}.`);
    }
    const now = this.clock();
    const schedule = parseSchedule(input, options.timezone, now);
    const { n } = this.db
      .prepare(`SELECT count(*) AS n FROM cron_jobs WHERE channel = ? AND chat_id = ? AND ${ACTIVE}`)
      .get(chat.channel, chat.chatId) as { n: number };
    if (n >= MAX_JOBS_PER_CHAT) {
      throw new ScheduleError(`this chat already has ${n} jobs; remove some before adding more.`);
    }
    const result = this.db
      .prepare(
        `INSERT INTO cron_jobs
           (owner_person, channel, account, chat_id, message, kind, spec, timezone, grace_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        actor.person,
        chat.channel,
        chat.account,
        chat.chatId,
        text,
        schedule.kind,
        schedule.spec,
        schedule.timezone,
        options.graceMs ?? DEFAULT_GRACE_MS,
        now.toISOString(),
      );
    const job = this.job(Number(result.lastInsertRowid));
    if (!job) throw new Error("the job just added is missing");
    return job;
  }

  /** Active jobs in scope, oldest first: a person's own in the chat; an owner's every job of it, or all. */
  list(actor: Actor, scope: JobScope): ListedCronJob[] {
    const owner = actor.grants === "*";
    if ("all" in scope) {
      if (!owner) throw new ScheduleError("only an owner may list the jobs of every chat.");
      return this.rows(`SELECT * FROM cron_jobs WHERE ${ACTIVE} ORDER BY id`);
    }
    const sql = `SELECT * FROM cron_jobs WHERE ${ACTIVE} AND channel = ? AND chat_id = ?`;
    return owner
      ? this.rows(`${sql} ORDER BY id`, scope.chat.channel, scope.chat.chatId)
      : this.rows(
          `${sql} AND owner_person = ? ORDER BY id`,
          scope.chat.channel,
          scope.chat.chatId,
          actor.person,
        );
  }

  /** Removes a job the actor may see in scope; another chat's job reads as "no such job" (it is not theirs). */
  remove(actor: Actor, id: number, scope: JobScope): ListedCronJob {
    const job = this.list(actor, scope).find((candidate) => candidate.id === id);
    if (!job) {
      const where = "all" in scope ? "" : " in this chat";
      throw new ScheduleError(`there is no job #${id}${where}; list the jobs to see their ids.`);
    }
    this.db.prepare("UPDATE cron_jobs SET removed_at = ? WHERE id = ?").run(this.clock().toISOString(), id);
    return job;
  }

  /** One active job, or undefined. */
  job(id: number): ListedCronJob | undefined {
    return this.rows(`SELECT * FROM cron_jobs WHERE ${ACTIVE} AND id = ?`, id)[0];
  }

  private rows(sql: string, ...params: unknown[]): ListedCronJob[] {
    const now = this.clock();
    const latest = this.db.prepare(
      `SELECT outcome, reason, settled_at FROM scheduled_deliveries WHERE source = 'cron' AND event_key = ?
       ORDER BY due_at DESC LIMIT 1`,
    );
    return (this.db.prepare(sql).all(...params) as JobRow[]).map((row) => {
      const job = jobOf(row);
      const last = latest.get(`job:${job.id}`) as
        | { outcome: DeliveryOutcome; reason: string | null; settled_at: string }
        | undefined;
      const held =
        last?.outcome === "held" ? { reason: last.reason ?? "", at: new Date(last.settled_at) } : undefined;
      return { ...job, nextRun: nextOccurrence(job.schedule, now, job.createdAt), ...(held ? { held } : {}) };
    });
  }
}

/** The DueSource "cron": every active job's occurrences; a one-off job is done once sent or missed. */
export function cronJobSource(db: Db, clock: () => Date = () => new Date()): DueSource {
  const active = () => (db.prepare(`SELECT * FROM cron_jobs WHERE ${ACTIVE}`).all() as JobRow[]).map(jobOf);
  return {
    name: "cron",
    next(after) {
      let earliest: Date | undefined;
      for (const job of active()) {
        const next = nextOccurrence(job.schedule, after, job.createdAt);
        if (next && (!earliest || next < earliest)) earliest = next;
      }
      return earliest;
    },
    due(from, to) {
      const events: DueEvent[] = [];
      for (const job of active()) {
        for (const dueAt of occurrencesBetween(job.schedule, from, to, job.createdAt)) {
          events.push({
            key: `job:${job.id}`,
            dueAt,
            target: job.target,
            text: job.message,
            graceMs: job.graceMs,
          });
        }
      }
      return events.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
    },
    settled(event, outcome) {
      // A held one-off job stays listed, showing why it was held, until the owner removes it.
      if (outcome === "held") return;
      const id = Number(event.key.slice("job:".length));
      db.prepare("UPDATE cron_jobs SET done_at = ? WHERE id = ? AND kind = 'at' AND done_at IS NULL").run(
        clock().toISOString(),
        id,
      );
    },
  };
}

/** `every 2h (Europe/Berlin), next 2026-06-03 08:30: "text"`, and ` — held: why` after a held occurrence. */
export function describeJob(job: ListedCronJob): string {
  const next = job.nextRun ? `next ${formatInZone(job.nextRun, job.schedule.timezone)}` : "no further run";
  const held = job.held ? ` — held: ${job.held.reason}` : "";
  return `${describeSchedule(job.schedule)}, ${next}: ${JSON.stringify(job.message)}${held}`;
}

function jobOf(row: JobRow): CronJob {
  return {
    id: row.id,
    ownerPerson: row.owner_person,
    target: { channel: row.channel as ChatTarget["channel"], account: row.account, chatId: row.chat_id },
    message: row.message,
    schedule: { kind: row.kind, spec: row.spec, timezone: row.timezone },
    graceMs: row.grace_ms,
    createdAt: new Date(row.created_at),
  };
}
