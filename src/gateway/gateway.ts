// The gateway: channels in, durable inbox, per-session router, agent, durable outbox, channels out.
//
// Delivery guarantees (see also ../delivery/queue.ts):
// - A message is stored (inbox, keyed by channel/account/chat/message id) before deliver() resolves,
//   so the platform is acknowledged only for stored messages; a redelivery is a "duplicate".
// - Access is asked again when a turn runs (gate.actorNow), not taken from the row: a sender revoked
//   while a message waited (pairing revoked live, allowFrom or people changed before a restart) gets it
//   closed unanswered (audited access.denied "revoked while waiting"), and one whose grants were narrowed
//   runs with today's grants. A sender revoked during the turn gets no reply either.
// - Every reply queued for a chat is audited as metadata (who, chat, outbox row) in its own transaction.
// - A reply enters the outbox in the transaction that marks its inbox row done. A crash before that
//   commit leaves the row pending, and it is answered again at the next start.
// - Chunks are sent, then recorded (at-least-once per chunk): only a crash in the instant between
//   the platform accepting a chunk and the commit can repeat that one chunk; a reply is never lost
//   to a crash. A send that fails is retried with backoff (that chat's later replies wait behind it);
//   after MAX_SEND_FAILURES the reply is given up, marked failed_at, and an error is logged.
// - Each chat (channel, account, chat id) sends one chunk at a time, in order, in its own chain: a chat
//   waiting out a rate limit (Telegram's 429 retry_after) or a retry never holds up another chat.
// - "/stop" is answered on delivery, without waiting behind the session's running turn; it cancels
//   that turn (whose own "Stopped." reply is dropped), not messages still queued behind it.
// - stop() stops the channels first, so replies of turns finishing within the deadline are sent at
//   the next start; turns still running at the deadline are cancelled and stay pending (parked).
// - A row whose processing threw stays pending and is retried at the next start.
// - A message longer than its channel's maxInboundChars (else gateway.maxInboundChars) is stored as handled
//   (length, not text) and answered with a short note; it never reaches the model (inbound-limit.ts).
// - Each turn start is counted on its row before the model is called; a turn past gateway.turnDeadlineS is
//   cancelled and counts too. At the start of a third attempt the row is set aside (turn-deadline.ts).
// - A storage failure (full disk, unwritable database) turns /healthz "degraded" with why (storage-health.ts).
import type { Actor } from "../access/actor.js";
import type { AccessGate, SenderQuestion } from "../access/gate-contract.js";
import { parseCommand } from "../agent/commands.js";
import type { IncomingMessage } from "../agent/loop.js";
import { type BackoffPolicy, DEFAULT_BACKOFF, restartDelay } from "../channels/backoff.js";
import type {
  ChannelAdapter,
  ChannelContext,
  DeliveryResult,
  InboundMessage,
  OutboundMessage,
  Refusal,
} from "../channels/types.js";
import type { MedbotConfig } from "../config/schema.js";
import { type InboxRow, MessageQueue } from "../delivery/queue.js";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import { type HealthReport, type HealthServer, startHealthServer } from "./health.js";
import { lengthOverLimit, tooLongReply } from "./inbound-limit.js";
import { ReplySender } from "./reply-sender.js";
import { SessionRouter } from "./router.js";
import { StorageHealth } from "./storage-health.js";
import { MAX_TURN_ATTEMPTS, runWithDeadline, SET_ASIDE_REPLY } from "./turn-deadline.js";

/** The part of the agent the gateway drives. */
export interface ChatAgent {
  handle(message: IncomingMessage): Promise<string>;
  stop(sessionKey: string): boolean;
}

export { type BackoffPolicy, restartDelay } from "../channels/backoff.js";

export interface GatewayOptions {
  settings: MedbotConfig["gateway"];
  /** Channels' own caps on an inbound message (channels.<name>.maxInboundChars) over settings.maxInboundChars. */
  inboundLimits?: Partial<Record<string, number>>;
  db: Db;
  agent: ChatAgent;
  gate: AccessGate;
  channels: ChannelAdapter[];
  logger: Logger;
  /** ChannelContext.mayInteract; default: the gate's decision. Pass a check that writes nothing (no audit). */
  mayInteract?: ChannelContext["mayInteract"];
  /** Delays between channel restarts and between resends of a refused reply. */
  backoff?: BackoffPolicy;
  /** How often channel states are checked for "failed" (and unsent replies retried). */
  watchIntervalMs?: number;
  /** Overrides settings.shutdownDeadlineS (tests). */
  shutdownDeadlineMs?: number;
  /** Overrides settings.turnDeadlineS (tests). */
  turnDeadlineMs?: number;
  /** How often /healthz may probe that the database takes writes; default 15 s. */
  storageProbeIntervalMs?: number;
  random?: () => number;
  clock?: () => Date;
  /** Called on each supervision tick (the scheduler notices jobs changed by other processes here). */
  onWatch?: () => void;
}

/** Above this many explained senders the memory starts over (a flood explains itself again, rarely). */
const MAX_EXPLAINED_SENDERS = 10_000;
/** Runs the channels, the router and the agent until stop(). */
export class Gateway {
  readonly queue: MessageQueue;
  private readonly router: SessionRouter;
  private readonly channels = new Map<string, ChannelAdapter>();
  private readonly attempts = new Map<string, number>();
  private readonly restarts = new Map<string, NodeJS.Timeout>();
  private readonly starting = new Set<string>();
  private readonly upSince = new Map<string, number>();
  private readonly stoppedTurns = new Set<string>();
  /** Refused messages per channel since start, for /healthz. */
  private readonly refusedCounts = new Map<string, number>();
  /** Channels that stopped for good, with the reason already logged. */
  private readonly problems = new Map<string, string>();
  /** Senders whose refusal was explained to the owner already (once per sender, bounded). */
  private readonly explained = new Set<string>();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private readonly storage: StorageHealth;
  private readonly replies: ReplySender;
  private watcher: NodeJS.Timeout | undefined;
  private health: HealthServer | undefined;
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  /** Set when stop()'s deadline passed: late turns leave their rows pending for the next start. */
  private pastShutdownDeadline = false;

  constructor(private readonly options: GatewayOptions) {
    this.queue = new MessageQueue(options.db, options.clock);
    this.router = new SessionRouter(options.settings.maxParallelSessions, (row) => this.answer(row));
    for (const channel of options.channels) this.channels.set(channel.name, channel);
    this.log = options.logger;
    this.replies = new ReplySender(
      this.queue,
      (name) => this.channels.get(name),
      this.log,
      options.backoff ?? DEFAULT_BACKOFF,
      options.random,
      (error) => this.storage.noteWriteError(error),
    );
    this.storage = new StorageHealth(
      options.db,
      this.log,
      options.storageProbeIntervalMs ?? 15_000,
      options.clock,
    );
  }

  /** The health endpoint's bound port (after start). */
  get healthPort(): number | undefined {
    return this.health?.port;
  }

  /** Starts the health endpoint, resumes unfinished work, then starts every channel. */
  async start(): Promise<void> {
    const { settings } = this.options;
    this.health = await startHealthServer({
      host: settings.host,
      port: settings.port,
      allowNonLoopback: settings.allowNonLoopback,
      report: () => this.report(),
    });
    this.state = "running";
    const unfinished = this.queue.pending();
    if (unfinished.length > 0) this.log.info({ count: unfinished.length }, "resuming unfinished messages");
    for (const row of unfinished) this.router.enqueue(row);
    await Promise.all([...this.channels.values()].map((channel) => this.startChannel(channel)));
    this.watcher = setInterval(() => this.watch(), this.options.watchIntervalMs ?? 1_000);
    this.watcher.unref();
    this.log.info({ channels: [...this.channels.keys()], port: this.health.port }, "gateway started");
  }

  /** Stops the channels, lets running turns finish within the deadline and parks the rest. */
  async stop(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.state = "stopping";
    clearInterval(this.watcher);
    for (const timer of this.restarts.values()) clearTimeout(timer);
    this.restarts.clear();
    this.abort.abort();
    await Promise.allSettled([...this.channels.values()].map((channel) => channel.stop()));
    this.router.close();
    const deadline = this.options.shutdownDeadlineMs ?? this.options.settings.shutdownDeadlineS * 1_000;
    const finished = await this.router.idle(deadline);
    if (!finished) {
      this.pastShutdownDeadline = true;
      const sessions = this.router.activeSessions();
      for (const sessionKey of sessions) this.options.agent.stop(sessionKey);
      this.log.warn(
        { sessions: sessions.length },
        "shutdown deadline passed; unfinished turns resume at next start",
      );
    }
    await this.replies.settled();
    await this.health?.close();
    this.state = "stopped";
    this.log.info(this.queue.counts(), "gateway stopped");
  }

  /** What /healthz shows. */
  report(): HealthReport {
    const channels: HealthReport["channels"] = {};
    for (const [name, channel] of this.channels) channels[name] = channel.state();
    const allRunning = Object.values(channels).every((state) => state === "running");
    const storage = this.storage.problem();
    const healthy = allRunning && !storage;
    const status = this.state === "running" ? (healthy ? "ok" : "degraded") : "stopping";
    const refused: HealthReport["refused"] = {};
    for (const name of this.channels.keys()) refused[name] = this.refusedCounts.get(name) ?? 0;
    const problems: HealthReport["problems"] = {};
    for (const channel of this.channels.values()) {
      const problem = channel.problem?.();
      if (problem) problems[channel.name] = problem;
    }
    return {
      status,
      channels,
      refused,
      queue: this.queue.counts(),
      ...(Object.keys(problems).length ? { problems } : {}),
      ...(storage ? { storage } : {}),
    };
  }

  /**
   * ChannelContext.refuse: a message an adapter refused before delivery. Audited through the gate, logged
   * (channel, sender domain, reason), counted for /healthz, and explained once per sender at warn level.
   */
  refuse(message: SenderQuestion, refusal: Refusal): void {
    this.options.gate.recordRefusal(message, refusal.reason);
    this.countRefusal(message, refusal.reason);
    const key = `${message.channel}:${message.senderId}`;
    if (this.explained.has(key)) return;
    if (this.explained.size >= MAX_EXPLAINED_SENDERS) this.explained.clear();
    this.explained.add(key);
    const what = message.channel === "email" ? "mail" : `a ${message.channel} message`;
    this.log.warn(
      { channel: message.channel },
      `${what} from ${message.senderId} was refused because ${refusal.reason}; to let it in, ${refusal.remedy}`,
    );
  }

  private countRefusal(message: SenderQuestion, reason: string): void {
    this.refusedCounts.set(message.channel, (this.refusedCounts.get(message.channel) ?? 0) + 1);
    const at = message.senderId.lastIndexOf("@");
    const senderDomain = at >= 0 ? message.senderId.slice(at + 1).toLowerCase() : undefined;
    this.log.info(
      { channel: message.channel, ...(senderDomain ? { senderDomain } : {}), reason },
      "message refused",
    );
  }

  /** ChannelContext.deliver: gate, then store; resolves once the row is committed or refused. */
  async deliver(message: InboundMessage): Promise<DeliveryResult> {
    if (this.state !== "running") throw new Error("the gateway is not running; deliver again later");
    const decision = this.options.gate.check(message);
    if (!decision.allowed) {
      this.countRefusal(message, decision.reason);
      if (decision.reply) await this.sendDirect(message, decision.reply);
      return "denied";
    }
    const actor: Actor = { ...decision.actor, messageId: message.messageId };
    const limit = this.options.inboundLimits?.[message.channel] ?? this.options.settings.maxInboundChars;
    const characters = lengthOverLimit(message.text, limit);
    if (characters !== undefined) return this.refuseTooLong(message, actor, { characters, limit });
    const row = this.stored(() => this.queue.accept(message, actor));
    if (!row) {
      this.log.info({ channel: message.channel, messageId: message.messageId }, "duplicate message ignored");
      return "duplicate";
    }
    this.log.info({ channel: message.channel, inboxId: row.id }, "message stored");
    this.log.debug({ inboxId: row.id, text: message.text }, "message text");
    if (parseCommand(message.text) === "stop") this.stopNow(row, actor);
    else this.router.enqueue(row);
    return "stored";
  }

  /** Answers an over-long message with a short note; its text goes neither to the model nor to storage. */
  private refuseTooLong(
    message: InboundMessage,
    actor: Actor,
    size: { characters: number; limit: number },
  ): DeliveryResult {
    const reply = replyTo(message, tooLongReply(size.characters, size.limit));
    const row = this.stored(() => this.queue.acceptTooLong(message, actor, reply, size));
    if (!row) return "duplicate";
    this.log.info({ channel: message.channel, inboxId: row.id, ...size }, "message too long; not answered");
    this.replies.sendUnsent(message.channel);
    return "stored";
  }

  /** Runs a write; a storage failure (disk full, database unwritable) is remembered for /healthz, then rethrown. */
  private stored<T>(write: () => T): T {
    try {
      return write();
    } catch (error) {
      this.storage.noteWriteError(error);
      throw error;
    }
  }

  private stopNow(row: InboxRow, actor: Actor): void {
    const stopped = this.options.agent.stop(row.sessionKey);
    if (stopped) this.stoppedTurns.add(row.sessionKey);
    this.queue.answer(row.id, replyTo(row.message, stopped ? "Stopped." : "Nothing is running."), actor);
    this.replies.sendUnsent(row.message.channel);
  }

  /** The person a stored message acts for now, or undefined (row closed, audited) once they were revoked. */
  private actorNow(row: InboxRow): Actor | undefined {
    const current = this.options.gate.actorNow(row.message);
    if (current) return { ...current, messageId: row.message.messageId };
    this.queue.dropRevoked(row);
    this.log.info({ channel: row.message.channel, inboxId: row.id }, "sender revoked while waiting; dropped");
    return undefined;
  }

  private async answer(row: InboxRow): Promise<void> {
    try {
      await this.answerWithinDeadline(row);
    } catch (error) {
      this.storage.noteWriteError(error);
      throw error;
    }
  }

  /** Runs the row's turn against the deadline, again after an overrun, and sets it aside at a third start. */
  private async answerWithinDeadline(row: InboxRow): Promise<void> {
    const { message } = row;
    this.stoppedTurns.delete(row.sessionKey);
    const deadlineMs = this.options.turnDeadlineMs ?? this.options.settings.turnDeadlineS * 1_000;
    let reply: string | undefined;
    while (reply === undefined) {
      const actor = this.actorNow(row);
      if (!actor) return;
      const attempt = this.queue.beginTurn(row.id, MAX_TURN_ATTEMPTS);
      if (attempt === undefined) return this.setAside(row, actor);
      const outcome = await runWithDeadline(
        () =>
          this.options.agent.handle({
            sessionKey: row.sessionKey,
            text: message.text,
            origin: { channel: message.channel, chatId: message.chatId },
            actor,
          }),
        deadlineMs,
        () => this.options.agent.stop(row.sessionKey),
      );
      if (this.pastShutdownDeadline) {
        this.queue.forgiveTurn(row.id);
        return;
      }
      if ("timedOut" in outcome)
        this.log.warn({ inboxId: row.id, attempt, deadlineMs }, "turn ran past its deadline; cancelled");
      else reply = outcome.reply;
    }
    // Revoked while the turn ran: what it found is not sent to them.
    const actor = this.actorNow(row);
    if (!actor) return;
    // A turn cancelled by /stop: the /stop reply already said so.
    const cancelled = this.stoppedTurns.delete(row.sessionKey);
    this.queue.answer(row.id, cancelled ? undefined : replyTo(message, reply), actor);
    this.log.info({ inboxId: row.id, replyChars: reply.length }, "message answered");
    this.log.debug({ inboxId: row.id, text: reply }, "reply text");
    this.replies.sendUnsent(message.channel);
  }

  /** Closes a poison message without another turn; the sender is told once, the owner's log and the audit say so. */
  private setAside(row: InboxRow, actor: Actor): void {
    this.queue.setAside(row, replyTo(row.message, SET_ASIDE_REPLY), actor);
    this.log.warn(
      { channel: row.message.channel, inboxId: row.id, attempts: MAX_TURN_ATTEMPTS },
      "message set aside: its turn crashed or overran twice; it will not be run again",
    );
    this.replies.sendUnsent(row.message.channel);
  }

  private async sendDirect(message: InboundMessage, text: string): Promise<void> {
    const channel = this.channels.get(message.channel);
    try {
      await channel?.send(replyTo(message, text));
    } catch (error) {
      this.log.warn({ channel: message.channel, error: errorText(error) }, "refusal reply not sent");
    }
  }

  private context(): ChannelContext {
    return {
      deliver: (message) => this.deliver(message),
      mayInteract: this.options.mayInteract ?? ((message) => this.options.gate.check(message).allowed),
      refuse: (message, refusal) => this.refuse(message, refusal),
      signal: this.abort.signal,
    };
  }

  private async startChannel(channel: ChannelAdapter): Promise<void> {
    if (this.state !== "running") return;
    this.starting.add(channel.name);
    try {
      await channel.start(this.context());
      this.upSince.set(channel.name, Date.now());
      this.log.info({ channel: channel.name }, "channel running");
      this.replies.sendUnsent(channel.name);
    } catch (error) {
      if (this.givenUp(channel)) return;
      this.log.warn({ channel: channel.name, error: errorText(error) }, "channel failed to start");
      this.scheduleRestart(channel);
    } finally {
      this.starting.delete(channel.name);
    }
  }

  private scheduleRestart(channel: ChannelAdapter): void {
    if (this.state !== "running" || this.restarts.has(channel.name)) return;
    const attempt = this.attempts.get(channel.name) ?? 0;
    this.attempts.set(channel.name, attempt + 1);
    const policy = this.options.backoff ?? DEFAULT_BACKOFF;
    const delay = restartDelay(attempt, policy, this.options.random);
    this.log.info(
      { channel: channel.name, attempt: attempt + 1, delayMs: delay },
      "channel restart scheduled",
    );
    const timer = setTimeout(() => {
      this.restarts.delete(channel.name);
      void this.startChannel(channel);
    }, delay);
    timer.unref();
    this.restarts.set(channel.name, timer);
  }

  /**
   * Whether the channel stopped for good (ChannelAdapter.problem): then it is not restarted, and the reason
   * is logged once at error level, since the owner has to act.
   */
  private givenUp(channel: ChannelAdapter): boolean {
    const problem = channel.problem?.();
    if (!problem) return false;
    if (this.problems.get(channel.name) !== problem) {
      this.problems.set(channel.name, problem);
      this.log.error({ channel: channel.name }, `${channel.name} stopped: ${problem}`);
    }
    return true;
  }

  /** Restarts failed channels; resets the backoff of channels that stayed up; retries unsent replies. */
  private watch(): void {
    this.options.onWatch?.();
    this.storage.problem();
    const policy = this.options.backoff ?? DEFAULT_BACKOFF;
    for (const channel of this.channels.values()) {
      if (this.starting.has(channel.name) || this.restarts.has(channel.name)) continue;
      const state = channel.state();
      if (state === "failed" && this.givenUp(channel)) continue;
      if (state === "failed") {
        this.log.warn({ channel: channel.name }, "channel failed; restarting");
        this.upSince.delete(channel.name);
        void channel.stop().catch(() => {});
        this.scheduleRestart(channel);
      } else if (state === "running") {
        const since = this.upSince.get(channel.name);
        if (since !== undefined && Date.now() - since >= policy.maxMs) this.attempts.delete(channel.name);
        this.replies.sendUnsent(channel.name);
      }
    }
  }
}

function replyTo(message: InboundMessage, text: string): OutboundMessage {
  return {
    channel: message.channel,
    account: message.account,
    chatId: message.chatId,
    text,
    ...(message.replyContext ? { replyContext: message.replyContext } : {}),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
