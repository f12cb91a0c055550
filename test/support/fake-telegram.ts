// A small Bot API on 127.0.0.1: the methods medbot's Telegram adapter calls, with Telegram's response
// envelope ({ ok, result } / { ok: false, error_code, description, parameters }), long polling with real
// offset semantics, every call recorded, and faults on demand.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { readBody, reply } from "./http.js";

export interface FakeCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The caller's TCP port: tells a call that came through a proxy's tunnel from a direct one. */
  peerPort: number;
  /** The HTTP status answered (200: Telegram took it); undefined while the call is still open. */
  status?: number;
}

export interface SentDocument {
  chatId: string;
  filename: string;
  size: number;
  /** The first bytes, to check the file type ("%PDF"). */
  head: string;
}

/** A fault for the next call of one method: Telegram's error code, description and retry_after. */
export interface FakeFault {
  status: number;
  description?: string;
  retryAfter?: number;
}

export interface FakeUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  is_bot?: boolean;
}

type Update = { update_id: number; message: Record<string, unknown> };

export const BOT = { id: 7000001, is_bot: true, first_name: "MedBot", username: "medbot_family_bot" };

export class FakeTelegram {
  readonly calls: FakeCall[] = [];
  readonly documents: SentDocument[] = [];
  private readonly updates: Update[] = [];
  private readonly faults = new Map<string, FakeFault[]>();
  private readonly chatFaults = new Map<string, FakeFault[]>();
  private readonly waiters = new Set<() => void>();
  private nextUpdateId = 100;
  private nextMessageId = 1;
  private redeliver = false;
  private confirmed: Update[] = [];

  /** The apiRoot to configure: http://127.0.0.1:PORT. */
  readonly apiRoot: string;

  private constructor(
    private readonly server: http.Server,
    readonly token: string,
  ) {
    this.apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** config.json's `channels.telegram` for a gateway that talks to this fake and lets `allowFrom` in. */
  channelConfig(allowFrom: readonly string[]) {
    return { enabled: true, token: this.token, apiRoot: this.apiRoot, allowFrom };
  }

  /** Starts the fake; only `token` is accepted, any other gets 401 like Telegram. */
  static async start(token = "123456:TEST-TOKEN"): Promise<FakeTelegram> {
    let fake: FakeTelegram | undefined;
    const server = http.createServer((req, res) => {
      void fake?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeTelegram(server, token);
    return fake;
  }

  /** Stops listening and answers pending long polls with no updates. */
  async close(): Promise<void> {
    for (const wake of this.waiters) wake();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Queues a raw update (its update_id is assigned); returns the update_id. */
  pushUpdate(message: Record<string, unknown>): number {
    const update = { update_id: this.nextUpdateId++, message };
    this.updates.push(update);
    for (const wake of this.waiters) wake();
    return update.update_id;
  }

  /** A user writes a text message; negative chat ids are groups. Returns the update_id. */
  userSays(chatId: number, from: FakeUser, text: string, extra: Record<string, unknown> = {}): number {
    const command = /^\/\w+(@\w+)?/.exec(text);
    const entities = [...text.matchAll(/(?<![\w/])@\w+/g)].map((match) => ({
      type: "mention",
      offset: match.index,
      length: match[0].length,
    }));
    if (command) entities.unshift({ type: "bot_command", offset: 0, length: command[0].length });
    return this.pushUpdate({
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat:
        chatId < 0 ? { id: chatId, type: "supergroup", title: "Family" } : { id: chatId, type: "private" },
      from: { is_bot: false, ...from },
      text,
      ...(entities.length > 0 ? { entities } : {}),
      ...extra,
    });
  }

  /** A user sends a photo, document, voice note or sticker: `media` holds those fields (and any caption). */
  userSendsMedia(chatId: number, from: FakeUser, media: Record<string, unknown>): number {
    return this.pushUpdate({
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private" },
      from: { is_bot: false, ...from },
      ...media,
    });
  }

  /** The next getUpdates also returns the updates the bot already confirmed (a Telegram hiccup). */
  redeliverConfirmedOnce(): void {
    this.redeliver = true;
    for (const wake of this.waiters) wake();
  }

  /** The next calls of `method` fail with these faults, one per call. */
  failNext(method: string, ...faults: FakeFault[]): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...faults]);
  }

  /** The next calls of `method` to one chat fail with these faults, one per call; other chats are served. */
  failNextTo(chatId: number | string, method: string, ...faults: FakeFault[]): void {
    const key = `${method}:${chatId}`;
    this.chatFaults.set(key, [...(this.chatFaults.get(key) ?? []), ...faults]);
  }

  /** Drops every fault still queued: calls succeed again. */
  clearFaults(): void {
    this.faults.clear();
    this.chatFaults.clear();
  }

  /** Calls of one method, in order. */
  callsOf(method: string): FakeCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Texts the bot sent to a chat, in order. */
  sentTo(chatId: number | string): FakeCall["params"][] {
    return this.callsOf("sendMessage")
      .filter((call) => String(call.params.chat_id) === String(chatId))
      .map((call) => call.params);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const match = /^\/bot([^/]+)\/(\w+)/.exec(req.url ?? "");
    if (!match || match[1] !== this.token)
      return reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    const method = match[2] ?? "";
    const params = parseParams(req.headers["content-type"] ?? "", body);
    const call: FakeCall = { method, params, at: Date.now(), peerPort: req.socket.remotePort ?? 0 };
    this.calls.push(call);
    const fault =
      this.chatFaults.get(`${method}:${String(params.chat_id)}`)?.shift() ?? this.faults.get(method)?.shift();
    if (fault) {
      call.status = fault.status;
      return reply(res, fault.status, {
        ok: false,
        error_code: fault.status,
        description:
          fault.description ??
          (fault.status === 429 ? "Too Many Requests: retry later" : "Internal Server Error"),
        ...(fault.retryAfter !== undefined ? { parameters: { retry_after: fault.retryAfter } } : {}),
      });
    }
    const result = await this.answer(method, params, res);
    call.status = result instanceof Error ? 400 : 200;
    if (result instanceof Error)
      return reply(res, 400, { ok: false, error_code: 400, description: result.message });
    reply(res, 200, { ok: true, result });
  }

  private async answer(
    method: string,
    params: Record<string, unknown>,
    res: http.ServerResponse,
  ): Promise<unknown> {
    switch (method) {
      case "getMe":
        return BOT;
      case "getUpdates":
        return this.longPoll(params, res);
      case "sendMessage": {
        const text = String(params.text ?? "");
        if (params.parse_mode === "HTML" && !balancedHtml(text))
          return new Error("Bad Request: can't parse entities: unsupported start tag or unclosed tag");
        if (text.length > 4096) return new Error("Bad Request: message is too long");
        return {
          message_id: this.nextMessageId++,
          date: 0,
          chat: { id: Number(params.chat_id) },
          from: BOT,
          text,
        };
      }
      case "sendChatAction":
        return true;
      case "sendDocument": {
        // grammY sends the file in its own part and names it in the field as "attach://<part name>".
        const reference = String(params.document ?? "").replace(/^attach:\/\//, "");
        const file = params[reference] as Omit<SentDocument, "chatId"> | undefined;
        if (!file) return new Error("Bad Request: there is no document in the request");
        this.documents.push({ chatId: String(params.chat_id), ...file });
        return { message_id: this.nextMessageId++, date: 0, chat: { id: Number(params.chat_id) }, from: BOT };
      }
      case "getFile":
        return {
          file_id: String(params.file_id),
          file_unique_id: "u1",
          file_size: 3,
          file_path: "documents/file.bin",
        };
      default:
        return new Error(`Bad Request: method ${method} not found`);
    }
  }

  private async longPoll(params: Record<string, unknown>, res: http.ServerResponse): Promise<Update[]> {
    const offset = Number(params.offset ?? 0);
    // Telegram forgets every update below the offset: those are confirmed.
    this.confirmed.push(...this.updates.filter((update) => update.update_id < offset));
    this.updates.splice(
      0,
      this.updates.length,
      ...this.updates.filter((update) => update.update_id >= offset),
    );
    const deadline = Number(params.timeout ?? 0) * 1000;
    if (this.updates.length === 0 && !this.redeliver && deadline > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, deadline);
        this.waiters.add(wake);
        res.on("close", wake);
      });
    }
    if (this.redeliver) {
      this.redeliver = false;
      return [...this.confirmed, ...this.updates];
    }
    return [...this.updates];
  }
}

function parseParams(contentType: string, body: Buffer): Record<string, unknown> {
  if (contentType.startsWith("application/json"))
    return body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) return {};
  const params: Record<string, unknown> = {};
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const split = part.indexOf("\r\n\r\n");
    const headers = part.subarray(0, split).toString("utf8");
    const content = part.subarray(split + 4);
    const name = /name="([^"]+)"/.exec(headers)?.[1] ?? "";
    // grammY writes the filename unquoted.
    const filenameMatch = /filename=(?:"([^"]*)"|([^\r\n;]*))/.exec(headers);
    const filename = filenameMatch ? (filenameMatch[1] ?? filenameMatch[2] ?? "") : undefined;
    if (filename === undefined) params[name] = content.toString("utf8");
    else params[name] = { filename, size: content.length, head: content.subarray(0, 8).toString("latin1") };
    start = next;
  }
  return params;
}

/** Roughly Telegram's HTML check: only known tags, each closed in order. */
function balancedHtml(text: string): boolean {
  const allowed = new Set([
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
    "span",
  ]);
  const open: string[] = [];
  for (const match of text.matchAll(/<(\/?)([\w-]+)[^>]*>/g)) {
    const [, closing, tag = ""] = match;
    if (!allowed.has(tag.toLowerCase())) return false;
    if (closing) {
      if (open.pop() !== tag.toLowerCase()) return false;
    } else open.push(tag.toLowerCase());
  }
  if (open.length > 0) return false;
  // A bare < that starts no tag, or an & that starts no entity, is also refused.
  return !/<(?![/\w])/.test(text) && !/&(?!(lt|gt|amp|quot|#\d+);)/.test(text);
}
