// The QQ bot OpenAPI over fetch: the app access token (cached, renewed shortly before it expires and after a
// 401), the gateway address and passive replies; and the message events medbot reads, checked with zod and
// translated to InboundMessage. Shared by the websocket and the webhook transports.
import { z } from "zod";
import type { MedbotConfig } from "../config/schema.js";
import { backoffDelay, retryCall } from "./backoff.js";
import { type MarkdownSpan, markdownBlocks } from "./markdown.js";
import type { InboundMessage } from "./types.js";

export type QqConfig = MedbotConfig["channels"]["qq"];

/** Where a reply goes: a user's private chat (C2C) or a group. */
export type QqChatKind = "c2c" | "group";

/** A reply as QQ's send endpoints take it: text (msg_type 0), passive when it names the inbound msg_id. */
export interface QqTextMessage {
  content: string;
  msg_id?: string;
  msg_seq?: number;
}

/** An error answer of the OpenAPI or the token endpoint: HTTP status, QQ's code and message. */
export class QqApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = "QqApiError";
  }
}

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  // QQ documents a number but answers a string ("7200").
  expires_in: z.coerce.number().int().positive(),
});

const errorAnswer = z.object({ code: z.number().optional(), message: z.string().optional() }).loose();

/** Longest a single OpenAPI call may take; QQ advises at least 5 s for sends. */
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_TRIES = 3;

export class QqApi {
  private token: { value: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly config: QqConfig,
    /** How long before expiry a token is renewed; QQ hands out a new one in its last 60 s. */
    private readonly renewMarginMs: number,
    private readonly backoffMs: number,
  ) {}

  /** The current access token, fetched when there is none or it is about to expire. */
  async accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    // Concurrent callers share one token request.
    this.pending ??= this.fetchToken(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the token (QQ refused it), so the next call fetches a new one. */
  invalidateToken(): void {
    this.token = undefined;
  }

  /** The websocket gateway address (GET /gateway). */
  async gatewayUrl(signal: AbortSignal): Promise<string> {
    const answer = await this.request("GET", "/gateway", undefined, signal);
    const url = z.object({ url: z.string().min(1) }).safeParse(answer);
    if (!url.success) throw new QqApiError(200, undefined, "GET /gateway answered without a url");
    return url.data.url;
  }

  /** Sends text to a user (/v2/users/{openid}/messages) or a group (/v2/groups/{openid}/messages). */
  async sendText(
    kind: QqChatKind,
    openid: string,
    message: QqTextMessage,
    signal: AbortSignal,
  ): Promise<void> {
    const path = `/v2/${kind === "group" ? "groups" : "users"}/${encodeURIComponent(openid)}/messages`;
    await this.request("POST", path, { msg_type: 0, ...message }, signal);
  }

  /**
   * One OpenAPI call with `Authorization: QQBot <token>`. A 401 renews the token once; a 5xx or network error
   * is tried again with the same body (a reply keeps its msg_seq, so QQ drops a copy that did arrive).
   */
  async request(method: string, path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    let renewed = false;
    const once = async () => {
      try {
        return await this.call(method, path, body, signal);
      } catch (error) {
        if (!(error instanceof QqApiError && error.status === 401 && !renewed)) throw error;
        renewed = true;
        this.invalidateToken();
        return await this.call(method, path, body, signal);
      }
    };
    return retryCall(once, {
      tries: MAX_TRIES,
      retriable: (error) => !(error instanceof QqApiError) || error.status >= 500,
      delayMs: (_error, attempt) =>
        backoffDelay(attempt - 1, { baseMs: this.backoffMs, maxMs: Number.POSITIVE_INFINITY }),
      signal,
    });
  }

  private async call(method: string, path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    const token = await this.accessToken(signal);
    const response = await fetch(new URL(path, this.config.apiBase), {
      method,
      headers: {
        Authorization: `QQBot ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    const answer = await readJson(response);
    if (!response.ok) throw apiError(response.status, answer, `${method} ${path}`);
    return answer;
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const started = Date.now();
    const response = await fetch(this.config.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ appId: this.config.appId, clientSecret: this.config.secret }),
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])
        : AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const answer = await readJson(response);
    const token = tokenAnswer.safeParse(answer);
    // QQ answers a wrong appId or secret with a code and message, sometimes under HTTP 200.
    if (!response.ok || !token.success) throw apiError(response.status, answer, "getAppAccessToken");
    const lifetimeMs = token.data.expires_in * 1000;
    this.token = {
      value: token.data.access_token,
      renewAt: started + Math.max(lifetimeMs - this.renewMarginMs, 1000),
    };
    return token.data.access_token;
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.slice(0, 200) };
  }
}

function apiError(status: number, answer: unknown, what: string): QqApiError {
  const parsed = errorAnswer.safeParse(answer);
  const code = parsed.success ? parsed.data.code : undefined;
  const message = (parsed.success ? parsed.data.message : undefined) ?? "unexpected answer";
  return new QqApiError(
    status,
    code,
    `${what}: ${status}${code === undefined ? "" : ` code ${code}`} ${message}`,
  );
}

const attachment = z.object({ content_type: z.string().optional(), filename: z.string().optional() }).loose();

const c2cMessage = z
  .object({
    id: z.string().min(1),
    content: z.string().default(""),
    timestamp: z.string().optional(),
    author: z.object({ user_openid: z.string().min(1) }).loose(),
    attachments: z.array(attachment).optional(),
  })
  .loose();

const groupAtMessage = z
  .object({
    id: z.string().min(1),
    content: z.string().default(""),
    timestamp: z.string().optional(),
    group_openid: z.string().min(1),
    author: z.object({ member_openid: z.string().min(1) }).loose(),
    attachments: z.array(attachment).optional(),
  })
  .loose();

/** The event types medbot asks for (intent GROUP_AND_C2C_EVENT, 1 << 25) and reads. */
export const MESSAGE_EVENTS = new Set(["C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE"]);

/**
 * A C2C_MESSAGE_CREATE or GROUP_AT_MESSAGE_CREATE event as an InboundMessage; undefined for other events,
 * malformed ones and messages without text. replyContext carries msg_id and the chat kind for the reply.
 */
export function qqEventToInbound(type: string, data: unknown, account: string): InboundMessage | undefined {
  if (type === "C2C_MESSAGE_CREATE") {
    const event = c2cMessage.safeParse(data);
    if (!event.success) return undefined;
    const { id, content, timestamp, author } = event.data;
    return inbound(account, author.user_openid, author.user_openid, id, content, timestamp, "c2c");
  }
  if (type === "GROUP_AT_MESSAGE_CREATE") {
    const event = groupAtMessage.safeParse(data);
    if (!event.success) return undefined;
    const { id, content, timestamp, author, group_openid } = event.data;
    return inbound(account, group_openid, author.member_openid, id, content, timestamp, "group");
  }
  return undefined;
}

function inbound(
  account: string,
  chatId: string,
  senderId: string,
  messageId: string,
  content: string,
  timestamp: string | undefined,
  kind: QqChatKind,
): InboundMessage | undefined {
  // QQ strips the @bot from a group message and leaves the space that followed it.
  const text = content.trim();
  if (!text) return undefined;
  const sent = timestamp ? Date.parse(timestamp) : Number.NaN;
  return {
    channel: "qq",
    account,
    chatId,
    senderId,
    messageId,
    text,
    isGroup: kind === "group",
    // QQ hands a bot only the group messages that @ it.
    mentioned: kind === "group",
    replyContext: { msgId: messageId, chatKind: kind },
    receivedAt: new Date(Number.isNaN(sent) ? Date.now() : sent).toISOString(),
  };
}

/** Markdown as QQ shows plain text: bold markers and heading marks dropped, links as "text (url)". */
export function markdownToQqText(markdown: string): string {
  return markdownBlocks(markdown)
    .map((block) => {
      if (block.kind === "code") return [block.opener, block.code, block.closer].join("\n");
      const text = qqSpans(block.spans);
      return block.kind === "bullet" ? `${block.indent}${block.prefix}${text}` : text;
    })
    .join("\n");
}

/** Bold loses its markers; italic and strike keep theirs (a lone * is too often arithmetic); code stays. */
function qqSpans(spans: readonly MarkdownSpan[]): string {
  return spans
    .map((span) => {
      if (span.kind === "text" || span.kind === "code") return span.source;
      if (span.kind === "bold") return qqSpans(span.children);
      if (span.kind === "link") return `${span.label} (${span.url})`;
      return `${span.marker}${qqSpans(span.children)}${span.marker}`;
    })
    .join("");
}
