// Telegram through grammY's Api, with our own getUpdates loop: an update is confirmed to Telegram (the next
// offset) only after context.deliver resolved, so a crash or an inbox error between receipt and commit
// loses nothing. grammY's bot.start() also fetches the next batch only after the handlers ran, but it
// confirms the last *tried* update: a handler that threw goes to bot.catch and is confirmed anyway (also by
// the final getUpdates in bot.stop()). Updates are handled one at a time, so the order per chat holds.
import { Bot, GrammyError, HttpError, InputFile } from "grammy";
import type { Message, Update, UserFromGetMe } from "grammy/types";
import { HttpsProxyAgent } from "https-proxy-agent";
import type { MedbotConfig } from "../config/schema.js";
import { type BackoffPolicy, backoffDelay, retryCall } from "./backoff.js";
import { ChannelLifecycle } from "./lifecycle.js";
import { renderTelegramChunks, telegramHtmlToPlain } from "./telegram-format.js";
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  InboundMessage,
  OutboundMessage,
} from "./types.js";

export type TelegramConfig = MedbotConfig["channels"]["telegram"];

/** Tuning for tests and slow networks; the defaults suit Telegram. */
export interface TelegramTiming {
  /** Seconds one getUpdates may wait for news. */
  pollTimeoutS?: number;
  /** First backoff after a 5xx or network error; doubles per try. */
  backoffMs?: number;
  /** Consecutive getUpdates failures after which state() is "failed" (polling goes on). */
  failuresUntilFailed?: number;
}

const MAX_TRIES = 3;
/** grammY types its signal parameter with the abort-controller shim; Node's AbortSignal is what it uses at run time. */
type ApiSignal = Parameters<Bot["api"]["getMe"]>[0];
const MAX_RETRY_AFTER_S = 30;

/**
 * The agent that sends every Bot API call through an http:// or https:// proxy. It opens a CONNECT tunnel
 * for http and https API roots alike, so the proxy never sees the token in a request line.
 */
function proxyAgent(proxy: string): HttpsProxyAgent<string> {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    throw new Error(
      "channels.telegram.proxy is not a URL; write it as http://host:port or https://host:port",
    );
  }
  // The URL may carry a password: name only its scheme.
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(
      `channels.telegram.proxy uses ${url.protocol}//, which is not supported; use an http:// or https:// proxy`,
    );
  return new HttpsProxyAgent(url.href);
}

/**
 * Why retrying cannot help, if Telegram said so: the token is wrong, the bot was deleted, or (409) another
 * process polls the same token, so each getUpdates would cut the other off for ever.
 */
function fatalProblem(error: unknown): string | undefined {
  if (!(error instanceof GrammyError)) return undefined;
  if (error.error_code === 409)
    return `another process is polling this bot token (Telegram ${describe(error)}). Only one medbot gateway (or other bot) may poll a token: stop the other one or give this medbot its own bot token, then restart the gateway`;
  if (error.error_code === 401 || error.error_code === 404)
    return `Telegram refused the bot token (${describe(error)}); check channels.telegram.token, then restart the gateway`;
  return undefined;
}

export class TelegramAdapter implements ChannelAdapter {
  readonly name = "telegram" as const;
  readonly capabilities: ChannelCapabilities = { maxTextLength: 4096, documents: true };
  private readonly bot: Bot;
  /** State, the problem that stops it for good (see fatalProblem), and the polling loop. */
  private readonly life = new ChannelLifecycle();
  private me: UserFromGetMe | undefined;
  private offset = 0;
  private readonly timing: Required<TelegramTiming>;
  /** Waits after a failed getUpdates or API call: from timing.backoffMs, doubling, to 30 s. */
  private readonly backoff: BackoffPolicy;

  constructor(config: TelegramConfig, timing: TelegramTiming = {}) {
    if (!config.token) throw new Error("channels.telegram.token is empty; set the token from @BotFather");
    const agent = config.proxy ? proxyAgent(config.proxy) : undefined;
    this.bot = new Bot(config.token, {
      client: {
        ...(config.apiRoot ? { apiRoot: config.apiRoot } : {}),
        ...(agent ? { baseFetchConfig: { agent } } : {}),
      },
    });
    this.timing = { pollTimeoutS: 25, backoffMs: 1000, failuresUntilFailed: 5, ...timing };
    this.backoff = { baseMs: this.timing.backoffMs, maxMs: MAX_RETRY_AFTER_S * 1000 };
  }

  /** Transport liveness: "running" while getUpdates answers. */
  state(): ChannelState {
    return this.life.state();
  }

  problem(): string | undefined {
    return this.life.problem();
  }

  /** Checks the token (getMe), then polls in the background; rejects on a wrong token. */
  async start(context: ChannelContext): Promise<void> {
    const stopped = this.life.begin(context.signal);
    try {
      this.me = await this.withRetry(() => this.bot.api.getMe(this.life.stopSignal as ApiSignal));
    } catch (error) {
      this.life.fail(fatalProblem(error));
      throw new Error(
        `Telegram getMe failed (${describe(error)}); check channels.telegram.token and apiRoot`,
      );
    }
    this.life.mark("running");
    this.life.receive({
      signal: stopped,
      backoff: this.backoff,
      failuresUntilFailed: this.timing.failuresUntilFailed,
      round: () => this.pollOnce(context, stopped),
      fatal: fatalProblem,
      delayMs: retryAfterMs,
    });
  }

  /** Ends the long poll and waits for the loop, so no getUpdates is sent after this resolves. */
  async stop(): Promise<void> {
    await this.life.stop();
  }

  /** Sends Markdown rendered as HTML, falling back to plain text if Telegram cannot parse it; then the document. */
  async send(message: OutboundMessage): Promise<void> {
    const chatId = message.chatId;
    for (const html of renderTelegramChunks(message.text, this.capabilities.maxTextLength)) {
      if (!html.trim()) continue; // Telegram refuses an empty message; a document may come alone.
      try {
        await this.withRetry(() => this.bot.api.sendMessage(chatId, html, { parse_mode: "HTML" }));
      } catch (error) {
        if (!(error instanceof GrammyError && /can't parse entities/i.test(error.description))) throw error;
        await this.withRetry(() => this.bot.api.sendMessage(chatId, telegramHtmlToPlain(html)));
      }
    }
    const document = message.document;
    if (document) {
      await this.withRetry(() =>
        this.bot.api.sendDocument(chatId, new InputFile(document.path, document.filename)),
      );
    }
  }

  /**
   * One getUpdates and the updates it brought. A failed getUpdates rejects (the loop backs off and counts it);
   * an update the inbox did not take holds the offset before it, so Telegram hands it out again.
   */
  private async pollOnce(context: ChannelContext, signal: AbortSignal): Promise<"received" | "held"> {
    const options = {
      offset: this.offset,
      timeout: this.timing.pollTimeoutS,
      allowed_updates: ["message" as const],
    };
    const updates = await this.bot.api.getUpdates(options, signal as ApiSignal);
    this.life.mark("running");
    try {
      await this.receiveBatch(updates, context);
      return "received";
    } catch {
      return "held";
    }
  }

  private async receiveBatch(updates: Update[], context: ChannelContext): Promise<void> {
    for (const update of updates) {
      // Telegram may hand out an update again until the offset passes it; deliver each only once.
      if (update.update_id < this.offset) continue;
      await this.receive(update, context);
      this.offset = update.update_id + 1;
    }
  }

  private async receive(update: Update, context: ChannelContext): Promise<void> {
    const message = update.message;
    if (!message || !this.me) return;
    const inbound = this.toInbound(message, this.me);
    if (!inbound) return;
    if (context.mayInteract(inbound)) {
      // The typing action is a courtesy; a failure must not hold up delivery.
      this.bot.api.sendChatAction(message.chat.id, "typing").catch(() => undefined);
    }
    await context.deliver(inbound);
  }

  private toInbound(message: Message, me: UserFromGetMe): InboundMessage | undefined {
    const raw = readableText(message);
    if (raw === undefined || !message.from) return undefined;
    const isGroup = message.chat.type === "group" || message.chat.type === "supergroup";
    const entities = message.entities ?? message.caption_entities ?? [];
    const mentionText = `@${me.username}`.toLowerCase();
    const mentioned =
      entities.some(
        (entity) =>
          (entity.type === "mention" &&
            raw.slice(entity.offset, entity.offset + entity.length).toLowerCase() === mentionText) ||
          (entity.type === "bot_command" &&
            raw
              .slice(entity.offset, entity.offset + entity.length)
              .toLowerCase()
              .endsWith(mentionText)) ||
          (entity.type === "text_mention" && entity.user.id === me.id),
      ) || message.reply_to_message?.from?.id === me.id;
    const name = [message.from.first_name, message.from.last_name].filter(Boolean).join(" ");
    return {
      channel: "telegram",
      account: String(me.id),
      chatId: String(message.chat.id),
      senderId: String(message.from.id),
      messageId: String(message.message_id),
      text: stripCommandTarget(raw, me.username),
      isGroup,
      mentioned,
      ...(name ? { senderName: name } : {}),
      receivedAt: new Date(message.date * 1000).toISOString(),
    };
  }

  /** Runs one API call, retrying 429 (after retry_after, capped) and 5xx/network errors (backoff), 3 tries in all. */
  private withRetry<T>(call: () => Promise<T>): Promise<T> {
    return retryCall(call, {
      tries: MAX_TRIES,
      retriable: (error) =>
        error instanceof HttpError ||
        (error instanceof GrammyError && (error.error_code === 429 || error.error_code >= 500)),
      delayMs: (error, attempt) => retryAfterMs(error) ?? backoffDelay(attempt - 1, this.backoff),
      signal: this.life.stopSignal,
    });
  }
}

/** The wait Telegram asked for (429 retry_after, capped), if it did. */
function retryAfterMs(error: unknown): number | undefined {
  const retryAfter = error instanceof GrammyError ? error.parameters.retry_after : undefined;
  return retryAfter === undefined ? undefined : Math.min(retryAfter, MAX_RETRY_AFTER_S) * 1000;
}

/**
 * What medbot reads of a message: its text, or the caption of a photo or document. The file itself is never
 * fetched; voice, stickers and uncaptioned media give nothing, so they cause no side effect at all.
 */
function readableText(message: Message): string | undefined {
  if (message.text !== undefined) return message.text;
  if ((message.photo || message.document) && message.caption) return message.caption;
  return undefined;
}

/** "/new@medbot_bot rest" → "/new rest": commands reach the gateway the same in groups and private chats. */
function stripCommandTarget(text: string, username: string): string {
  const command = /^(\/\w+)@(\w+)/.exec(text);
  if (!command || command[2]?.toLowerCase() !== username.toLowerCase()) return text;
  return (command[1] ?? "") + text.slice(command[0].length);
}

function describe(error: unknown): string {
  if (error instanceof GrammyError) return `${error.error_code} ${error.description}`;
  return error instanceof Error ? error.message : String(error);
}
