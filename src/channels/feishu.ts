// Feishu / Lark through the official SDK: events arrive over its long connection (WSClient), replies leave
// through its Client (tenant token, messages API). The SDK answers an event frame only after our handler
// resolved (WSClient.handleEventData awaits EventDispatcher.invoke, then sends the response frame), and the
// handler resolves only after context.deliver did: an event is acknowledged once the inbox holds it. If
// deliver throws, the handler throws, the SDK answers 500 and Feishu hands the event out again. Feishu also
// redelivers events it already had answered, so each message_id is delivered once.
import * as lark from "@larksuiteoapi/node-sdk";
import type { MedbotConfig } from "../config/schema.js";
import { type Logger, silentLogger } from "../log.js";
import { backoffDelay, retryCall } from "./backoff.js";
import { chunkText } from "./chunk.js";
import {
  FEISHU_BODY_LIMIT_BYTES,
  type FeishuMention,
  type FeishuOutgoing,
  inboundText,
  renderFeishuMessage,
  requestBytes,
} from "./feishu-format.js";
import { ChannelLifecycle } from "./lifecycle.js";
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  InboundMessage,
  OutboundMessage,
} from "./types.js";

export type FeishuConfig = MedbotConfig["channels"]["feishu"];

/** Tuning for tests and slow networks; the defaults suit Feishu. */
export interface FeishuTiming {
  /** How long start() waits for the long connection before it gives up. */
  connectTimeoutMs?: number;
  /** First backoff after a 5xx, rate limit or network error on a send; doubles per try. */
  backoffMs?: number;
}

type ReceiveEvent = Parameters<NonNullable<lark.EventHandles["im.message.receive_v1"]>>[0];

const MAX_TRIES = 3;
/** Feishu redelivers within hours, not days: remembering the last few thousand ids is enough. */
const REMEMBERED_MESSAGES = 5000;
/** Feishu's "request too frequent" codes, sent with HTTP 400 or 429. */
const RATE_LIMITED = new Set([99991400, 11232, 230020]);

/** An error from the open platform: its code and message, never the request (it holds the reply). */
export class FeishuApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

export class FeishuAdapter implements ChannelAdapter {
  readonly name = "feishu" as const;
  /**
   * A post or card request may carry 30 KB. A chunk's characters cost at most 4 bytes each once rendered
   * and escaped twice (a quote becomes \\\", CJK is 3 bytes), so 7000 characters stay under it.
   */
  readonly capabilities: ChannelCapabilities = { maxTextLength: 7000, documents: false };
  private readonly client: lark.Client;
  private readonly timing: Required<FeishuTiming>;
  /** State, and the signal stop() aborts (it ends the retries of a send). */
  private readonly life = new ChannelLifecycle();
  private socket: lark.WSClient | undefined;
  private botOpenId = "";
  private readonly delivered = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopping: (() => void) | undefined;

  constructor(
    private readonly config: FeishuConfig,
    timing: FeishuTiming = {},
    private readonly log: Logger = silentLogger(),
  ) {
    if (!/^cli_[0-9a-f]{16}$/i.test(config.appId))
      throw new Error('channels.feishu.appId must be "cli_" and 16 hex digits, from the Feishu console');
    if (!config.appSecret) throw new Error("channels.feishu.appSecret is empty; copy it from the console");
    this.timing = { connectTimeoutMs: 30_000, backoffMs: 1000, ...timing };
    this.client = new lark.Client({
      appId: config.appId,
      appSecret: config.appSecret,
      domain: this.domain(),
      // Our own token cache: the SDK's shared one would outlive a restart of this adapter.
      cache: new lark.DefaultCache(),
      logger: sdkLogger(log),
      loggerLevel: lark.LoggerLevel.warn,
    });
  }

  /** Transport liveness: "running" while the long connection is open. */
  state(): ChannelState {
    return this.life.state();
  }

  /** Learns the bot's open_id, then opens the long connection; resolves once it is open. */
  async start(context: ChannelContext): Promise<void> {
    this.life.begin();
    try {
      const info = await this.call<{ bot?: { open_id?: string } }>("bot info", () =>
        this.client.request({ method: "GET", url: "/open-apis/bot/v3/info" }),
      );
      this.botOpenId = info.bot?.open_id ?? "";
      if (!this.botOpenId) throw new Error("the bot info has no open_id; enable the bot feature of the app");
      await this.connect(context);
    } catch (error) {
      if (this.life.stopSignal.aborted) this.life.mark("stopped");
      else this.life.fail();
      throw new Error(
        `Feishu start failed (${describe(error)}); check channels.feishu.appId, appSecret and domain`,
      );
    }
    context.signal.addEventListener("abort", () => void this.stop(), { once: true });
  }

  /**
   * Closes the long connection; the SDK makes no reconnect attempt after this and hands us no more events.
   * An event still in deliver stays unanswered, so Feishu hands it out again (the inbox de-duplicates it).
   */
  async stop(): Promise<void> {
    const stopped = this.life.stop();
    this.stopping?.();
    this.socket?.close();
    this.socket = undefined;
    await stopped;
  }

  /** Sends one chunk as text, post or card, by its content; as a reply to the asker in a group. */
  async send(message: OutboundMessage): Promise<void> {
    if (message.document) throw new Error("the Feishu channel cannot send files yet");
    for (const outgoing of renderWithinLimit(message.text)) {
      const replyTo = message.replyContext?.messageId;
      const data = { msg_type: outgoing.msgType, content: outgoing.content };
      await this.call("send message", () =>
        replyTo
          ? this.client.im.v1.message.reply({ path: { message_id: replyTo }, data })
          : this.client.im.v1.message.create({
              params: { receive_id_type: "chat_id" },
              data: { receive_id: message.chatId, ...data },
            }),
      );
    }
  }

  private connect(context: ChannelContext): Promise<void> {
    const dispatcher = new lark.EventDispatcher({
      encryptKey: this.config.encryptKey,
      verificationToken: this.config.verificationToken,
      logger: sdkLogger(this.log),
      loggerLevel: lark.LoggerLevel.warn,
    }).register({ "im.message.receive_v1": (event) => this.receive(event, context) });
    return new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.stopping = undefined;
        socket.close({ force: true });
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`no long connection after ${this.timing.connectTimeoutMs} ms`)),
        this.timing.connectTimeoutMs,
      );
      this.stopping = () => fail(new Error("stopped while connecting"));
      const socket = new lark.WSClient({
        appId: this.config.appId,
        appSecret: this.config.appSecret,
        domain: this.domain(),
        logger: sdkLogger(this.log),
        loggerLevel: lark.LoggerLevel.warn,
        onReady: () => {
          clearTimeout(timer);
          this.stopping = undefined;
          this.life.mark("running");
          resolve();
        },
        onError: (error) => {
          if (this.life.state() === "starting" && this.stopping) return fail(error);
          this.life.fail();
          this.log.error({ channel: "feishu", error: error.message }, "long connection gave up");
        },
        onReconnecting: () => {
          this.life.mark("starting");
        },
        onReconnected: () => {
          this.life.mark("running");
        },
      });
      this.socket = socket;
      void socket.start({ eventDispatcher: dispatcher });
    });
  }

  /** Handles one event; resolves after deliver did, so the SDK acknowledges only a stored message. */
  private async receive(event: ReceiveEvent, context: ChannelContext): Promise<void> {
    const id = event.message.message_id;
    if (this.delivered.has(id)) return;
    const pending = this.inFlight.get(id);
    if (pending) return pending;
    const inbound = this.toInbound(event);
    if (!inbound) return;
    // No download, reaction or lookup happens before delivery, so nothing here needs context.mayInteract.
    const delivery = context.deliver(inbound).then(() => this.remember(id));
    this.inFlight.set(id, delivery);
    try {
      await delivery;
    } finally {
      this.inFlight.delete(id);
    }
  }

  private remember(messageId: string): void {
    this.delivered.add(messageId);
    if (this.delivered.size > REMEMBERED_MESSAGES) {
      const oldest = this.delivered.values().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }

  private toInbound(event: ReceiveEvent): InboundMessage | undefined {
    const { message, sender } = event;
    const senderId = sender.sender_id?.open_id;
    // Other bots' messages are not for us; answering them could loop.
    if (sender.sender_type !== "user" || !senderId) return undefined;
    const mentions: FeishuMention[] = (message.mentions ?? []).map((mention) => ({
      key: mention.key,
      name: mention.name,
      id: { ...(mention.id.open_id ? { open_id: mention.id.open_id } : {}) },
    }));
    const text = inboundText(message.message_type, message.content, mentions, this.botOpenId);
    if (text === undefined) return undefined;
    const isGroup = message.chat_type === "group";
    const sentAt = Number(message.create_time);
    return {
      channel: "feishu",
      account: this.config.appId,
      chatId: message.chat_id,
      senderId,
      messageId: message.message_id,
      text,
      isGroup,
      mentioned: isGroup && mentions.some((mention) => mention.id.open_id === this.botOpenId),
      // In a group the reply quotes the question, so the family sees whom it answers.
      ...(isGroup ? { replyContext: { messageId: message.message_id } } : {}),
      receivedAt: new Date(Number.isFinite(sentAt) && sentAt > 0 ? sentAt : Date.now()).toISOString(),
    };
  }

  /** Runs one API call: a non-zero code is an error; 5xx, rate limits and network errors get 3 tries. */
  private async call<T>(what: string, request: () => Promise<unknown>): Promise<T> {
    const once = async () => {
      try {
        const body = (await request()) as { code?: number; msg?: string } | undefined;
        if (body?.code) throw new FeishuApiError(body.code, `${what}: ${body.code} ${body.msg ?? ""}`, false);
        return body as T;
      } catch (error) {
        throw apiError(what, error);
      }
    };
    return retryCall(once, {
      tries: MAX_TRIES,
      retriable: (error) => error instanceof FeishuApiError && error.retriable,
      delayMs: (_error, attempt) =>
        backoffDelay(attempt - 1, { baseMs: this.timing.backoffMs, maxMs: Number.POSITIVE_INFINITY }),
      signal: this.life.stopSignal,
    });
  }

  private domain(): string {
    return this.config.domain.replace(/\/+$/, "");
  }
}

/** Renders one chunk; a rendering over Feishu's body limit is split again (rare: many quotes or tags). */
function renderWithinLimit(text: string): FeishuOutgoing[] {
  const rendered = renderFeishuMessage(text);
  if (requestBytes(rendered) <= FEISHU_BODY_LIMIT_BYTES || text.length < 64) return [rendered];
  return chunkText(text, Math.ceil(text.length / 2)).flatMap(renderWithinLimit);
}

/** The open platform's code and message from a thrown axios error or a FeishuApiError. */
function apiError(what: string, error: unknown): FeishuApiError {
  if (error instanceof FeishuApiError) return error;
  const response = (error as { response?: { status?: number; data?: { code?: number; msg?: string } } })
    .response;
  if (!response) return new FeishuApiError(0, `${what}: ${describe(error)}`, true);
  const code = response.data?.code ?? 0;
  const status = response.status ?? 0;
  const retriable = status >= 500 || status === 429 || RATE_LIMITED.has(code);
  return new FeishuApiError(
    code,
    `${what}: HTTP ${status}, code ${code} ${response.data?.msg ?? ""}`,
    retriable,
  );
}

/**
 * The SDK logs whole axios errors, whose config holds the request body (a reply: health text). Only
 * strings and error messages pass; its info and below go to debug.
 */
function sdkLogger(log: Logger): lark.Logger {
  const text = (parts: unknown[]) =>
    parts
      .map((part) => (typeof part === "string" ? part : part instanceof Error ? part.message : ""))
      .filter(Boolean)
      .join(" ");
  const at =
    (level: "error" | "warn" | "debug") =>
    (...parts: unknown[]) =>
      log[level]({ channel: "feishu" }, text(parts));
  return { error: at("error"), warn: at("warn"), info: at("debug"), debug: at("debug"), trace: at("debug") };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
