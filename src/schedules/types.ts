// The scheduler's contract. Sources (cron jobs, medication reminders, the heartbeat's daily risk scan) say
// what is due and when; the engine (scheduler/engine.ts) arms one timer for the earliest next due time, and
// when it fires asks each source what fell due since it last looked, then delivers or records each once.
import type { ChatTarget } from "../config/chat-target.js";

/** One occurrence of something due, produced by a source for a time window. */
export interface DueEvent {
  /** Stable per occurrence: with the source name it de-duplicates deliveries (e.g. "job:12"). */
  key: string;
  dueAt: Date;
  target: ChatTarget;
  /** Sent as written (Markdown); never passed through a model. */
  text: string;
  /** Late by less than this: sent once, saying it is late; later: recorded as missed, not sent. */
  graceMs: number;
  /** The member the occurrence is about (a medication reminder's), kept with its delivery record. */
  memberId?: string;
}

/** What became of one occurrence: sent, missed (too late), or held (its chat lost access). */
export type DeliveryOutcome = "sent" | "missed" | "held";

/** A kind of scheduled work. Pure reads of the database: the engine records what was delivered. */
export interface DueSource {
  readonly name: string;
  /** The earliest due time strictly after `after`, or undefined if nothing is scheduled. */
  next(after: Date): Date | undefined;
  /** Every occurrence with from < dueAt <= to, oldest first. */
  due(from: Date, to: Date): DueEvent[];
  /**
   * Called in the delivery transaction for each event sent, missed, or held because its chat may no longer
   * receive scheduled sends (e.g. a one-off job is done once sent or missed).
   */
  settled?(event: DueEvent, outcome: DeliveryOutcome): void;
}

/** The time and timers the scheduler runs on; tests drive a fake one. */
export interface SchedulerClock {
  now(): Date;
  /** Calls `fire` at `at` (or at once if it is past); returns a cancel function. */
  setTimer(at: Date, fire: () => void): () => void;
}

/** The default grace window of a scheduled message. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;
