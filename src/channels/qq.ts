// The official QQ bot API (api-v2): C2C messages and group @-messages in, passive replies out. Events
// come over the websocket gateway (hello → identify → READY, heartbeats, resume with session_id + seq
// after a drop or op 7, identify anew after op 9) or, in webhook mode, as signed HTTP callbacks
// (qq-webhook.ts). An event counts as handled (its seq is what a resume continues from) only after
// context.deliver resolved, so a dropped connection or an inbox error loses nothing; message ids are
// remembered, so a repeat is not delivered twice. The adapter makes no request for a sender before
// delivery (no download, no typing indicator), so there is nothing for context.mayInteract to gate.
import WebSocket from "ws";
import { type Logger, silentLogger } from "../log.js";
import { ChannelGaveUp, ChannelLifecycle, receiveLoop } from "./lifecycle.js";
import {
  MESSAGE_EVENTS,
  markdownToQqText,
  QqApi,
  QqApiError,
  type QqChatKind,
  type QqConfig,
  qqEventToInbound,
} from "./qq-api.js";
import { QqWebhook } from "./qq-webhook.js";
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  OutboundMessage,
} from "./types.js";

/** Tuning for tests and slow networks; the defaults suit QQ. */
export interface QqTiming {
  /** First reconnect delay after a failed connection; doubles per failure, capped at 30 s. */
  backoffMs?: number;
  /** Consecutive failed connections after which state() is "failed" (reconnecting goes on). */
  failuresUntilFailed?: number;
  /** How long before its expiry the access token is renewed. */
  tokenRenewMarginMs?: number;
  /** How long a new connection may take to reach READY or RESUMED. */
  handshakeTimeoutMs?: number;
}

/** Intent GROUP_AND_C2C_EVENT: C2C_MESSAGE_CREATE and GROUP_AT_MESSAGE_CREATE. */
const GROUP_AND_C2C_EVENT = 1 << 25;
const MAX_BACKOFF_MS = 30_000;
/** Message ids remembered for de-duplication; QQ repeats a message soon after, if at all. */
const REMEMBERED_IDS = 4096;
/** Passive replies are possible 60 minutes after a C2C message (5 in a group); then its msg_seq may go. */
const REPLY_WINDOW_MS = 65 * 60_000;

const RECONNECTING = "QQ gateway connection ended; reconnecting";

/** How one gateway connection ended, and what the next one does. */
type SessionEnd =
  | { next: "resume" | "identify"; reason: string; healthy: boolean; renewToken?: boolean }
  | { next: "fatal"; reason: string; healthy: boolean }
  | { next: "stopped"; reason: string; healthy: boolean };

/** A connection that ended before it was live: the loop counts it as a failure and backs off. */
class SessionEnded extends Error {
  constructor(readonly end: SessionEnd) {
    super(end.reason);
  }
}

interface Payload {
  op: number;
  d?: unknown;
  s?: number;
  t?: string;
}

export class QqAdapter implements ChannelAdapter {
  readonly name = "qq" as const;
  /** QQ publishes no text limit for msg_type 0; 2000 characters is accepted and reads well in a chat. */
  readonly capabilities: ChannelCapabilities = { maxTextLength: 2000, documents: false };
  private readonly api: QqApi;
  private readonly timing: Required<QqTiming>;
  /** State, the stop signal and the connect loop. */
  private readonly life = new ChannelLifecycle();
  private webhook: QqWebhook | undefined;
  private webhookClosed: Promise<void> | undefined;
  private sessionId: string | undefined;
  /** The s of the last event handled; a resume asks QQ for everything after it. */
  private seq = 0;
  private readonly delivered = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly replySeqs = new Map<string, { last: number; at: number }>();
  private readonly chatKinds = new Map<string, QqChatKind>();

  constructor(
    private readonly config: QqConfig,
    timing: QqTiming = {},
    private readonly log: Logger = silentLogger(),
  ) {
    if (!config.appId) throw new Error("channels.qq.appId is empty; set the AppID from q.qq.com");
    if (!config.secret) throw new Error("channels.qq.secret is empty; set the AppSecret from q.qq.com");
    if (config.mode === "webhook" && !config.webhookPath.startsWith("/"))
      throw new Error(`channels.qq.webhookPath "${config.webhookPath}" must start with "/"`);
    this.timing = {
      backoffMs: 1000,
      failuresUntilFailed: 5,
      tokenRenewMarginMs: 60_000,
      handshakeTimeoutMs: 30_000,
      ...timing,
    };
    this.api = new QqApi(config, this.timing.tokenRenewMarginMs, this.timing.backoffMs);
    for (const group of config.groups) this.chatKinds.set(group, "group");
  }

  /** Why the channel stopped for good: QQ refused the credentials or the bot. */
  problem(): string | undefined {
    return this.life.problem();
  }

  /** Transport liveness: "running" while the gateway session (or the webhook listener) is up. */
  state(): ChannelState {
    return this.life.state();
  }

  /** Gets a token, then connects to the gateway (resolves at READY) or starts the webhook listener. */
  async start(context: ChannelContext): Promise<void> {
    const stopped = this.life.begin(context.signal);
    try {
      await this.api.accessToken(stopped);
    } catch (error) {
      const why = `QQ access token request failed (${describe(error)}); check channels.qq.appId and secret`;
      // QQ itself refused (a wrong appId or secret): restarting cannot help until the config changes.
      this.life.fail(refusedByQq(error) ? `${why}, then restart the gateway` : undefined);
      throw new Error(why);
    }
    if (this.config.mode === "webhook") return this.startWebhook(context, stopped);
    let ready: () => void = () => undefined;
    let refused: (error: Error) => void = () => undefined;
    const readiness = new Promise<void>((resolve, reject) => {
      ready = resolve;
      refused = reject;
    });
    this.life.run(this.connectLoop(context, stopped, ready, refused));
    await readiness;
  }

  /** Closes the gateway connection (or the webhook listener) and waits for the event in hand to finish. */
  async stop(): Promise<void> {
    await this.life.stop();
    await this.closeWebhook();
  }

  /**
   * Sends one chunk as plain text. With the inbound msg_id in replyContext it is a passive reply, numbered
   * msg_seq 1, 2, ... per msg_id; QQ no longer delivers active (unprompted) messages.
   */
  async send(message: OutboundMessage): Promise<void> {
    const content = markdownToQqText(message.text);
    if (!content.trim()) return;
    const msgId = message.replyContext?.msgId;
    const kind = this.chatKind(message);
    const body = msgId ? { content, msg_id: msgId, msg_seq: this.nextReplySeq(msgId) } : { content };
    await this.api.sendText(kind, message.chatId, body, this.life.stopSignal);
  }

  private async startWebhook(context: ChannelContext, stopped: AbortSignal): Promise<void> {
    const webhook = new QqWebhook({
      secret: this.config.secret,
      host: this.config.webhookHost,
      port: this.config.webhookPort,
      path: this.config.webhookPath,
      onDispatch: ({ type, data }) => this.receive(type, data, context),
    });
    try {
      const address = await webhook.listen();
      this.log.info(
        { host: address.address, port: address.port, path: this.config.webhookPath },
        "QQ webhook listening; QQ must reach it over HTTPS (a reverse proxy in front)",
      );
    } catch (error) {
      this.life.fail();
      throw new Error(
        `QQ webhook cannot listen on ${this.config.webhookHost}:${this.config.webhookPort} (${describe(error)}); check channels.qq.webhookHost and webhookPort`,
      );
    }
    this.webhook = webhook;
    this.webhookClosed = undefined;
    this.life.mark("running");
    stopped.addEventListener(
      "abort",
      () =>
        void this.closeWebhook().then(() => {
          if (this.life.state() !== "failed") this.life.mark("stopped");
        }),
      { once: true },
    );
  }

  /** Closes the webhook listener once, however many callers ask. */
  private closeWebhook(): Promise<void> {
    this.webhookClosed ??= this.webhook?.close() ?? Promise.resolve();
    return this.webhookClosed;
  }

  /** Connects, reconnects and resumes until stopped; the first connection decides whether start() works. */
  private async connectLoop(
    context: ChannelContext,
    signal: AbortSignal,
    ready: () => void,
    refused: (error: Error) => void,
  ): Promise<void> {
    let started = false;
    await receiveLoop(this.life, {
      signal,
      backoff: { baseMs: this.timing.backoffMs, maxMs: MAX_BACKOFF_MS },
      failuresUntilFailed: this.timing.failuresUntilFailed,
      round: async () => {
        let end: SessionEnd;
        try {
          const url = await this.api.gatewayUrl(signal);
          end = await this.connect(url, context, signal, () => {
            started = true;
            ready();
          });
        } catch (error) {
          end = { next: "resume", reason: describe(error), healthy: false };
        }
        if (end.next === "stopped" || signal.aborted) return "received";
        if (end.next === "fatal" || !started) {
          const why = `QQ gateway: ${end.reason}; check channels.qq.appId, secret and the bot's intents`;
          this.log.error({ reason: end.reason }, "QQ gateway refused the bot");
          refused(new Error(why));
          // Banned, delisted or refused intents: the channel stops for good and /healthz names why.
          if (end.next === "fatal") throw new BotRefused(`${why}, then restart the gateway`);
          throw new ChannelGaveUp(end.reason);
        }
        if (end.next === "identify") {
          this.sessionId = undefined;
          this.seq = 0;
        }
        if ("renewToken" in end && end.renewToken) this.api.invalidateToken();
        if (!end.healthy) throw new SessionEnded(end);
        // A session that was live ended: reconnect at once, with no failure counted.
        this.log.warn({ reason: end.reason, next: end.next, failures: 0 }, RECONNECTING);
        return "received";
      },
      fatal: (error) => (error instanceof BotRefused ? error.message : undefined),
      afterFailure: (error, failures) => {
        const end = error instanceof SessionEnded ? error.end : { reason: describe(error), next: "resume" };
        this.log.warn({ reason: end.reason, next: end.next, failures }, RECONNECTING);
      },
    });
    // Stopped before the first READY: start() must not wait for ever (no effect once it resolved).
    refused(new Error("QQ adapter stopped before the gateway was ready"));
  }

  /** One websocket connection: hello, identify or resume, heartbeats and events, until it ends. */
  private connect(
    url: string,
    context: ChannelContext,
    signal: AbortSignal,
    ready: () => void,
  ): Promise<SessionEnd> {
    return new Promise((resolve) => {
      const socket = new WebSocket(url);
      let heartbeat: NodeJS.Timeout | undefined;
      let acknowledged = true;
      let healthy = false;
      let ended = false;
      // Events are handled one at a time, in order; seq moves only past events that were handled.
      let handling = Promise.resolve();
      const handshake = setTimeout(
        () => end({ next: "resume", reason: "no READY or RESUMED in time", healthy }),
        this.timing.handshakeTimeoutMs,
      );
      const end = (how: SessionEnd) => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        clearTimeout(handshake);
        signal.removeEventListener("abort", onAbort);
        socket.removeAllListeners("message");
        if (socket.readyState === WebSocket.OPEN) socket.close(how.next === "stopped" ? 1000 : 4000);
        else socket.terminate();
        // The next connection resumes from seq, so wait for the event in hand to settle it.
        void handling.then(() => resolve({ ...how, healthy: how.healthy || healthy }));
      };
      const onAbort = () => end({ next: "stopped", reason: "stopped", healthy });
      signal.addEventListener("abort", onAbort, { once: true });
      const beat = () => socket.send(JSON.stringify({ op: 1, d: this.seq || null }));
      socket.on("message", (raw) => {
        const payload = parsePayload(String(raw));
        if (!payload) return end({ next: "resume", reason: "unreadable gateway frame", healthy });
        if (typeof payload.d === "object" && payload.op === 10) {
          const interval =
            Number((payload.d as { heartbeat_interval?: unknown }).heartbeat_interval) || 45_000;
          heartbeat = setInterval(() => {
            // No op 11 since the last beat: the connection is dead although TCP has not noticed.
            if (!acknowledged) return end({ next: "resume", reason: "heartbeat not acknowledged", healthy });
            acknowledged = false;
            beat();
          }, interval);
          void this.hello(socket, signal).catch((error: unknown) =>
            end({ next: "resume", reason: describe(error), healthy }),
          );
        } else if (payload.op === 11) acknowledged = true;
        else if (payload.op === 1) beat();
        else if (payload.op === 7) end({ next: "resume", reason: "QQ asked to reconnect (op 7)", healthy });
        else if (payload.op === 9) end({ next: "identify", reason: "invalid session (op 9)", healthy });
        else if (payload.op === 0) {
          handling = handling.then(async () => {
            if (ended) return;
            try {
              const settled = await this.dispatch(payload, context);
              if (settled) {
                healthy = true;
                clearTimeout(handshake);
                this.life.mark("running");
                ready();
              }
            } catch (error) {
              // The inbox did not take it: reconnect and resume before it, so QQ sends it again.
              end({ next: "resume", reason: `delivery failed: ${describe(error)}`, healthy });
            }
          });
        }
      });
      socket.on("close", (code, reason) => end(classifyClose(code, reason.toString(), healthy)));
      socket.on("error", (error) => end({ next: "resume", reason: describe(error), healthy }));
    });
  }

  /** Answers hello: resume the session we have, or identify for a new one. */
  private async hello(socket: WebSocket, signal: AbortSignal): Promise<void> {
    const token = `QQBot ${await this.api.accessToken(signal)}`;
    if (socket.readyState !== WebSocket.OPEN) return;
    const frame = this.sessionId
      ? { op: 6, d: { token, session_id: this.sessionId, seq: this.seq } }
      : { op: 2, d: { token, intents: GROUP_AND_C2C_EVENT, shard: [0, 1], properties: {} } };
    socket.send(JSON.stringify(frame));
  }

  /** Handles one dispatch; true when it made the session live (READY or RESUMED). */
  private async dispatch(payload: Payload, context: ChannelContext): Promise<boolean> {
    const type = payload.t ?? "";
    let live = false;
    if (type === "READY") {
      const sessionId = (payload.d as { session_id?: unknown } | undefined)?.session_id;
      if (typeof sessionId !== "string") throw new Error("READY without a session_id");
      this.sessionId = sessionId;
      this.log.info({ appId: this.config.appId }, "QQ gateway ready");
      live = true;
    } else if (type === "RESUMED") {
      live = true;
    } else if (MESSAGE_EVENTS.has(type)) {
      await this.receive(type, payload.d, context);
    }
    if (typeof payload.s === "number") this.seq = payload.s;
    return live;
  }

  /** Delivers a message event once per message id; shared by the websocket and the webhook. */
  private async receive(type: string, data: unknown, context: ChannelContext): Promise<void> {
    const inbound = qqEventToInbound(type, data, this.config.appId);
    if (!inbound || this.delivered.has(inbound.messageId)) return;
    const pending = this.inFlight.get(inbound.messageId);
    if (pending) return pending;
    const delivery = context.deliver(inbound).then(() => {
      this.remember(inbound.messageId);
      this.chatKinds.set(inbound.chatId, inbound.isGroup ? "group" : "c2c");
    });
    this.inFlight.set(inbound.messageId, delivery);
    try {
      await delivery;
    } finally {
      this.inFlight.delete(inbound.messageId);
    }
  }

  private remember(messageId: string): void {
    this.delivered.add(messageId);
    // A Set iterates in insertion order: drop the oldest.
    if (this.delivered.size > REMEMBERED_IDS)
      this.delivered.delete(this.delivered.values().next().value ?? "");
  }

  private chatKind(message: OutboundMessage): QqChatKind {
    const kind = message.replyContext?.chatKind;
    if (kind === "group" || kind === "c2c") return kind;
    return this.chatKinds.get(message.chatId) ?? "c2c";
  }

  /** The next msg_seq for a reply to `msgId`: QQ refuses a repeated msg_id + msg_seq. */
  private nextReplySeq(msgId: string): number {
    const now = Date.now();
    for (const [id, entry] of this.replySeqs) if (now - entry.at > REPLY_WINDOW_MS) this.replySeqs.delete(id);
    const last = this.replySeqs.get(msgId)?.last ?? 0;
    this.replySeqs.set(msgId, { last: last + 1, at: now });
    return last + 1;
  }
}

/** The QQ gateway refused this bot for good (a fatal close code): the channel's problem. */
class BotRefused extends Error {}

/** Whether QQ answered and refused (a wrong appId or secret), rather than the network or QQ failing. */
function refusedByQq(error: unknown): boolean {
  return error instanceof QqApiError && error.status < 500 && error.status !== 429;
}

/** What a close code of the QQ gateway means for the next connection (QQ's websocket error table). */
function classifyClose(code: number, reason: string, healthy: boolean): SessionEnd {
  const why = `gateway closed ${code}${reason ? ` ${reason}` : ""}`;
  // Banned, delisted, or intents QQ will not grant: reconnecting cannot help.
  if (code === 4013 || code === 4014 || code === 4914 || code === 4915)
    return { next: "fatal", reason: why, healthy };
  if (code === 4004) return { next: "identify", reason: why, healthy, renewToken: true };
  if (code === 4008 || code === 4009) return { next: "resume", reason: why, healthy };
  if (code >= 4000) return { next: "identify", reason: why, healthy };
  return { next: "resume", reason: why, healthy };
}

function parsePayload(raw: string): Payload | undefined {
  try {
    const payload = JSON.parse(raw) as Partial<Payload>;
    return typeof payload.op === "number" ? (payload as Payload) : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
