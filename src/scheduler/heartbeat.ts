// The heartbeat: every heartbeat.intervalS it works through the tasks in the workspace's HEARTBEAT.md in
// one agent turn, as the person behind heartbeat.target, and queues what is worth saying to that one chat.
// Silence is the normal result: no tasks means no model call, and a HEARTBEAT_OK reply sends nothing.
// A target chat that may no longer receive scheduled sends (src/access/scheduled-chats.ts) holds the run:
// no model turn, nothing queued, and the owner's log says why once.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Actor } from "../access/actor.js";
import { actorForChat } from "../access/people.js";
import { heldReason, scheduledChatRefusal } from "../access/scheduled-chats.js";
import type { IncomingMessage } from "../agent/loop.js";
import { appendAudit } from "../audit/audit-log.js";
import { type ChatTarget, parseChatTarget } from "../config/chat-target.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import { MessageQueue } from "../delivery/queue.js";
import type { Logger } from "../log.js";
import type { SchedulerClock } from "../schedules/types.js";
import { type Db, writeTransaction } from "../storage/db.js";
import { hostTimeZone } from "../time/dates.js";
import { isQuiet, quietEnd } from "./quiet-hours.js";

/** The reply that means "nothing needs the household's attention". */
export const HEARTBEAT_OK = "HEARTBEAT_OK";

/** The session all heartbeat turns share, apart from every chat's own. */
export const HEARTBEAT_SESSION = "heartbeat";

const INSTRUCTION = `This is a scheduled heartbeat run, not a message from a person. Work through the tasks below with your tools, only for the family members you may see.
If something needs the household's attention, reply with one short message for the household: for each finding the member, what was seen (numbers and dates) and the next step.
If nothing needs attention, reply exactly ${HEARTBEAT_OK} and nothing else. Never send "all clear" or summaries of normal values.`;

/** The heartbeat's chat, the person it acts as and that person's timezone. */
export interface HeartbeatTarget {
  target: ChatTarget;
  actor: Actor;
  timeZone: string;
}

/**
 * Resolves heartbeat.target to its chat and the configured person behind it (that chat's identity in
 * `people`). A chat that is no person gets a problem, never the owner's grants by default.
 */
export function heartbeatTarget(
  config: MedbotConfig,
  hostZone: string = hostTimeZone(),
): HeartbeatTarget | { problem: string } {
  const spec = config.heartbeat.target;
  if (!spec) return { problem: "heartbeat.target is not set (e.g. telegram:123456)" };
  const target = parseChatTarget(spec);
  const actor = actorForChat(config, target.channel, target.chatId);
  const person = config.people[actor.person];
  if (!person) {
    return {
      problem: `heartbeat.target ${spec} is no person's identity in people; add "${spec}" to the identities of the person whose members it may report on`,
    };
  }
  return {
    target,
    actor: { ...actor, channel: "heartbeat" },
    timeZone: person.timezone ?? hostZone,
  };
}

/** The tasks of a HEARTBEAT.md: list items under "## Tasks", HTML comments (disabled examples) ignored. */
export function heartbeatTasks(markdown: string): string[] {
  const lines = markdown.replace(/<!--[\s\S]*?(-->|$)/g, "").split(/\r?\n/);
  const tasks: string[] = [];
  let inTasks = false;
  for (const line of lines) {
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      // A deeper heading inside the section only groups tasks; a sibling or higher one ends it.
      if (heading[1]!.length <= 2) inTasks = heading[1]!.length === 2 && /^tasks$/i.test(heading[2]!);
      continue;
    }
    const item = inTasks ? /^\s*(?:[-*+]|\d+[.)])\s+(.*\S)\s*$/.exec(line) : null;
    if (item) tasks.push(item[1]!);
  }
  return tasks;
}

/** True for a reply that says nothing needs attention: empty, or HEARTBEAT_OK amid punctuation or symbols. */
export function isHeartbeatOk(reply: string): boolean {
  const core = reply.trim().replace(/^[\p{P}\p{S}\s]+|[\p{P}\p{S}\s]+$/gu, "");
  return core === "" || core.toUpperCase() === HEARTBEAT_OK || core.toUpperCase() === "HEARTBEAT OK";
}

export interface HeartbeatOptions {
  config: MedbotConfig;
  paths: Pick<MedbotPaths, "workspace">;
  agent: { handle(message: IncomingMessage): Promise<string> };
  db: Db;
  clock: SchedulerClock;
  logger: Logger;
  /** The timezone of a target person without one; default the host's. */
  hostTimeZone?: string;
}

/** What one run did. */
export type HeartbeatOutcome =
  | { kind: "refused"; problem: string }
  | { kind: "held"; reason: string }
  | { kind: "quiet"; until: Date }
  | { kind: "busy" }
  | { kind: "no-tasks" }
  | { kind: "ok" }
  | { kind: "queued"; outboxId: number };

export class Heartbeat {
  private cancelTimer?: () => void;
  private running = false;
  private stopped = true;
  /** The reason the last run was held, so the owner's log says it once per hold. */
  private heldFor: string | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** Arms the next run an interval from now (replacing an armed one); false, and logged, if it cannot run. */
  start(): boolean {
    const { config, logger } = this.options;
    if (!config.heartbeat.enabled) return false;
    const resolved = heartbeatTarget(config, this.options.hostTimeZone);
    if ("problem" in resolved) {
      logger.error({ problem: resolved.problem }, "heartbeat refuses to run");
      return false;
    }
    this.stopped = false;
    this.arm(this.afterInterval());
    return true;
  }

  /** Cancels the armed run; a run in progress finishes but arms nothing. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /**
   * One heartbeat run now: refused without a person behind the target, skipped in quiet hours or while
   * another run is going, silent without tasks or with a HEARTBEAT_OK reply; otherwise the reply is queued
   * for the target chat.
   */
  async runOnce(): Promise<HeartbeatOutcome> {
    if (this.running) return { kind: "busy" };
    this.running = true;
    try {
      return await this.run();
    } finally {
      this.running = false;
    }
  }

  private async run(): Promise<HeartbeatOutcome> {
    const { config, clock, logger } = this.options;
    const resolved = heartbeatTarget(config, this.options.hostTimeZone);
    if ("problem" in resolved) {
      logger.error({ problem: resolved.problem }, "heartbeat refuses to run");
      return { kind: "refused", problem: resolved.problem };
    }
    const { target, actor, timeZone } = resolved;
    const held = this.heldReason(target);
    if (held) return { kind: "held", reason: held };
    const now = clock.now();
    if (isQuiet(config.heartbeat.quietHours, now, timeZone)) {
      const until = quietEnd(config.heartbeat.quietHours, now, timeZone);
      logger.info({ until: until.toISOString() }, "heartbeat skipped: quiet hours");
      return { kind: "quiet", until };
    }
    const tasks = this.readTasks();
    if (tasks.length === 0) {
      logger.debug("heartbeat: no tasks in HEARTBEAT.md");
      return { kind: "no-tasks" };
    }
    const reply = await this.options.agent.handle({
      sessionKey: HEARTBEAT_SESSION,
      text: `${INSTRUCTION}\n\nTasks:\n${tasks.map((task) => `- ${task}`).join("\n")}`,
      origin: { channel: target.channel, chatId: target.chatId },
      actor,
      maxToolIterations: config.heartbeat.maxIterations,
      quietFailures: true,
    });
    if (isHeartbeatOk(reply)) {
      logger.info({ tasks: tasks.length }, "heartbeat: nothing to report");
      return { kind: "ok" };
    }
    // Asked again at delivery: access may have been revoked during the turn.
    const heldNow = this.heldReason(target);
    if (heldNow) return { kind: "held", reason: heldNow };
    const { db } = this.options;
    const outboxId = writeTransaction(db, () => {
      const id = new MessageQueue(db, () => clock.now()).send({ ...target, text: reply });
      const event = {
        action: "heartbeat.send",
        entity: "chat",
        entityId: `${target.channel}:${target.chatId}`,
      };
      appendAudit(db, actor, { ...event, note: `outbox:${id}` }, () => clock.now());
      return id;
    });
    logger.info({ tasks: tasks.length, outboxId, channel: target.channel }, "heartbeat: finding queued");
    return { kind: "queued", outboxId };
  }

  /** Why the target chat may not receive this run's message now (logged once per hold), or undefined. */
  private heldReason(target: ChatTarget): string | undefined {
    const refusal = scheduledChatRefusal(this.options.config, this.options.db, target);
    const reason = refusal === undefined ? undefined : heldReason(target, refusal);
    if (reason !== undefined && reason !== this.heldFor) {
      this.options.logger.warn({ reason }, `heartbeat held: ${reason}`);
    }
    this.heldFor = reason;
    return reason;
  }

  private readTasks(): string[] {
    const file = path.join(this.options.paths.workspace, "HEARTBEAT.md");
    try {
      return heartbeatTasks(fs.readFileSync(file, "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }

  /** The timer's run: never two at once, and the next one armed after it (at quiet end when quiet). */
  private async tick(): Promise<void> {
    this.cancelTimer = undefined;
    let next: Date;
    try {
      const outcome = await this.runOnce();
      next = outcome.kind === "quiet" ? outcome.until : this.afterInterval();
    } catch (error) {
      // A failed run (unreadable HEARTBEAT.md, a database error) must not end the heartbeat.
      this.options.logger.error({ error: (error as Error).message }, "heartbeat run failed");
      next = this.afterInterval();
    }
    if (!this.stopped) this.arm(next);
  }

  private afterInterval(): Date {
    return new Date(this.options.clock.now().getTime() + this.options.config.heartbeat.intervalS * 1000);
  }

  /** Keeps exactly one timer: arming again replaces the previous one. */
  private arm(at: Date): void {
    this.cancelTimer?.();
    this.cancelTimer = this.options.clock.setTimer(at, () => void this.tick());
  }
}
