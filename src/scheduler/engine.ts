// The scheduler engine: one timer, armed for the earliest next due time of all sources; no polling loop.
//
// Guarantees:
// - Each occurrence is settled once: its scheduled_deliveries row (UNIQUE source, key, due time), its outbox
//   message and the source's own bookkeeping commit in one transaction. A crash before that commit loses
//   nothing (the window since checked_until is read again at the next start); after it, repeats nothing.
// - checked_until moves only after a source's whole window is settled, so two events due at the same
//   instant are never split by a crash.
// - Late by at most the event's grace window: sent once, saying it is late. Later: recorded as missed.
//   Several occurrences of one job missed in a row send only the newest (no burst after downtime).
// - Asked again at delivery: an occurrence whose chat may no longer receive scheduled sends (disabled
//   channel, left allowFrom or pairing, no longer a person's identity) is not sent but settled as 'held' with
//   the reason; the owner's log and the audit log say so once per hold, not at every occurrence.
// - A source seen for the first time starts at now: nothing historical is sent.

import { heldReason } from "../access/scheduled-chats.js";
import { appendAudit } from "../audit/audit-log.js";
import type { ChatTarget } from "../config/chat-target.js";
import { MessageQueue } from "../delivery/queue.js";
import type { Logger } from "../log.js";
import { whenSchedulesChange } from "../schedules/changes.js";
import type { DeliveryOutcome, DueEvent, DueSource, SchedulerClock } from "../schedules/types.js";
import { type Db, writeTransaction } from "../storage/db.js";

/** Who the audit log names for messages the scheduler sends on its own. */
const SCHEDULER_ACTOR = { person: "medbot", channel: "scheduler", grants: [] } as const;

export interface SchedulerEngineOptions {
  db: Db;
  sources: readonly DueSource[];
  clock: SchedulerClock;
  logger: Logger;
  /** Why a chat may not receive scheduled sends now (undefined: it may); asked for every occurrence sent. */
  recipientRefusal: (target: ChatTarget) => string | undefined;
}

/** What one run did, for logs and tests. */
export interface RunSummary {
  sent: number;
  missed: number;
  held: number;
}

/** Late by more than this, a sent message says so. */
const LATE_NOTE_AFTER_MS = 60_000;
/** A source that failed is tried again after this long, not in a tight loop. */
const RETRY_MS = 60_000;

/** Delivers what sources say is due, each occurrence once, through the gateway outbox. */
export class SchedulerEngine {
  private readonly queue: MessageQueue;
  private cancelTimer: (() => void) | undefined;
  private armedFor: Date | undefined;
  private running = false;
  private readonly failing = new Set<string>();
  private dataVersion = 0;
  private stopListening: (() => void) | undefined;

  constructor(private readonly options: SchedulerEngineOptions) {
    this.queue = new MessageQueue(options.db, () => options.clock.now());
  }

  /** Registers new sources at now, settles what fell due while medbot was down, then arms the timer. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.options.clock.now().toISOString();
    const register = this.options.db.prepare(
      "INSERT OR IGNORE INTO scheduler_sources (source, checked_until) VALUES (?, ?)",
    );
    for (const source of this.options.sources) register.run(source.name, now);
    this.dataVersion = this.readDataVersion();
    this.stopListening = whenSchedulesChange(this.options.db, () => this.reschedule());
    this.fire();
  }

  /** Cancels the timer; nothing fires until start() again. */
  stop(): void {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedFor = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** Re-arms the timer after jobs or medications changed (a few queries; no delivery). */
  reschedule(): void {
    if (this.running) this.arm();
  }

  /**
   * Re-arms when another process (the `medbot cron` CLI) committed to the database since the last look.
   * PRAGMA data_version changes only for other connections' commits, so calling this on the gateway's
   * one-second supervision tick costs one pragma and arms nothing when nothing changed.
   */
  reloadIfChanged(): boolean {
    const version = this.readDataVersion();
    if (version === this.dataVersion) return false;
    this.dataVersion = version;
    this.reschedule();
    return true;
  }

  /** When the timer fires next (undefined: nothing scheduled, or stopped). */
  nextRun(): Date | undefined {
    return this.armedFor;
  }

  /** Settles every source's window (checked_until, now] and returns what it did. */
  runDue(): RunSummary {
    const summary: RunSummary = { sent: 0, missed: 0, held: 0 };
    const now = this.options.clock.now();
    for (const source of this.options.sources) {
      try {
        this.settleWindow(source, now, summary);
        this.failing.delete(source.name);
      } catch (error) {
        this.failing.add(source.name);
        this.options.logger.error(
          { source: source.name, error: error instanceof Error ? error.message : String(error) },
          "scheduler source failed; its window is tried again later",
        );
      }
    }
    return summary;
  }

  private fire(): void {
    this.cancelTimer = undefined;
    if (!this.running) return;
    const summary = this.runDue();
    if (summary.sent + summary.missed + summary.held > 0)
      this.options.logger.info(summary, "scheduled messages settled");
    this.arm();
  }

  private settleWindow(source: DueSource, now: Date, summary: RunSummary): void {
    const { db } = this.options;
    const from = this.checkedUntil(source);
    if (from.getTime() >= now.getTime()) return;
    const events = source.due(from, now);
    const sendable = newestWithinGrace(events, now);
    const record = db.prepare(
      `INSERT OR IGNORE INTO scheduled_deliveries
         (source, event_key, due_at, outcome, late_ms, settled_at, reason, member_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const linkOutbox = db.prepare("UPDATE scheduled_deliveries SET outbox_id = ? WHERE id = ?");
    for (const event of events) {
      const lateMs = Math.max(0, now.getTime() - event.dueAt.getTime());
      const refusal =
        sendable.get(event.key) === event ? this.options.recipientRefusal(event.target) : undefined;
      const reason = refusal === undefined ? undefined : heldReason(event.target, refusal);
      const outcome: DeliveryOutcome =
        sendable.get(event.key) !== event ? "missed" : reason === undefined ? "sent" : "held";
      writeTransaction(db, () => {
        const newHold = outcome === "held" && this.lastHeldReason(source, event) !== reason;
        const row = record.run(
          source.name,
          event.key,
          event.dueAt.toISOString(),
          outcome,
          lateMs,
          now.toISOString(),
          reason ?? null,
          event.memberId ?? null,
        );
        if (row.changes === 0) return; // settled before a crash or by an earlier run
        if (outcome === "sent") {
          const outboxId = this.queue.send({
            channel: event.target.channel,
            account: event.target.account,
            chatId: event.target.chatId,
            text: lateMs > LATE_NOTE_AFTER_MS ? `${lateNote(lateMs)}\n${event.text}` : event.text,
          });
          linkOutbox.run(outboxId, row.lastInsertRowid);
          // What medbot sends on its own is in the audit log, like every other send that leaves.
          this.audit(
            "scheduled.send",
            source,
            event,
            `${event.target.channel}:${event.target.chatId} outbox:${outboxId}`,
          );
        }
        if (newHold && reason !== undefined) {
          this.audit("scheduled.held", source, event, reason);
          // The owner is told once per hold; the reason names a chat and a config key, never health data.
          this.options.logger.warn(
            { source: source.name, key: event.key, reason },
            `scheduled message held: ${reason}`,
          );
        }
        source.settled?.(event, outcome);
        summary[outcome]++;
        // The event text is health data: only its key and outcome are logged.
        this.options.logger.info({ source: source.name, key: event.key, outcome, lateMs }, "scheduled event");
      });
    }
    db.prepare("UPDATE scheduler_sources SET checked_until = ? WHERE source = ?").run(
      now.toISOString(),
      source.name,
    );
  }

  /** The reason the previous occurrence of this event's key was held, or undefined when it was not held. */
  private lastHeldReason(source: DueSource, event: DueEvent): string | undefined {
    const row = this.options.db
      .prepare(
        `SELECT outcome, reason FROM scheduled_deliveries WHERE source = ? AND event_key = ? AND due_at < ?
         ORDER BY due_at DESC LIMIT 1`,
      )
      .get(source.name, event.key, event.dueAt.toISOString()) as
      | { outcome: string; reason: string | null }
      | undefined;
    return row?.outcome === "held" ? (row.reason ?? undefined) : undefined;
  }

  private audit(action: string, source: DueSource, event: DueEvent, note: string): void {
    appendAudit(
      this.options.db,
      SCHEDULER_ACTOR,
      { action, entity: source.name, entityId: event.key, note },
      () => this.options.clock.now(),
    );
  }

  /** Arms the one timer for the earliest next due time over all sources. */
  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const now = this.options.clock.now();
    let earliest: Date | undefined;
    for (const source of this.options.sources) {
      let next: Date | undefined;
      try {
        next = this.failing.has(source.name)
          ? new Date(now.getTime() + RETRY_MS)
          : source.next(this.checkedUntil(source));
      } catch (error) {
        next = new Date(now.getTime() + RETRY_MS);
        this.options.logger.error(
          { source: source.name, error: error instanceof Error ? error.message : String(error) },
          "scheduler source could not say when it is next due",
        );
      }
      if (next && (!earliest || next < earliest)) earliest = next;
    }
    this.armedFor = earliest;
    if (earliest) this.cancelTimer = this.options.clock.setTimer(earliest, () => this.fire());
  }

  private checkedUntil(source: DueSource): Date {
    const row = this.options.db
      .prepare("SELECT checked_until FROM scheduler_sources WHERE source = ?")
      .get(source.name) as { checked_until: string } | undefined;
    return row ? new Date(row.checked_until) : this.options.clock.now();
  }

  private readDataVersion(): number {
    return this.options.db.pragma("data_version", { simple: true }) as number;
  }
}

/** Per key, the newest event still within its grace window: the only one of a missed run that is sent. */
function newestWithinGrace(events: readonly DueEvent[], now: Date): Map<string, DueEvent> {
  const newest = new Map<string, DueEvent>();
  for (const event of events) {
    if (now.getTime() - event.dueAt.getTime() > event.graceMs) continue;
    const seen = newest.get(event.key);
    if (!seen || event.dueAt > seen.dueAt) newest.set(event.key, event);
  }
  return newest;
}

/** "(late by 35 min: medbot was offline when this was due)". */
function lateNote(lateMs: number): string {
  const minutes = Math.round(lateMs / 60_000);
  const span = minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
  return `(late by ${span}: medbot was offline when this was due)`;
}
