// A small Feishu open platform on 127.0.0.1 for the real @larksuiteoapi/node-sdk: the tenant token, bot info
// and messages (create, reply) APIs with Feishu's { code, msg, data } envelope and body limits, and the
// long connection: POST /callback/ws/endpoint hands out a ws URL and ClientConfig, then a WebSocket server
// speaks the SDK's pbbp2 protobuf frames (ping/pong control frames, "event" data frames split into
// fragments when large, the client's response frame). An event is redelivered until answered with 200.
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";
import { type WebSocket, WebSocketServer } from "ws";
import { readBody, reply } from "./http.js";

export const APP_ID = "cli_a1b2c3d4e5f60718";
export const APP_SECRET = "medbot-fake-secret";
export const BOT_OPEN_ID = "ou_bot_medbot_0000000000000000000001";
const SERVICE_ID = 33554678;
const FRAME_CONTROL = 0;
const FRAME_DATA = 1;
/** Feishu's body limits: 150 KB for text, 30 KB for posts and cards. */
const TEXT_LIMIT = 150 * 1024;
const RICH_LIMIT = 30 * 1024;

// The SDK's pbbp2.proto (proto2), rebuilt with protobufjs: the SDK does not export its generated classes.
const Frame = protobuf.Root.fromJSON({
  nested: {
    pbbp2: {
      nested: {
        Header: {
          fields: {
            key: { rule: "required", type: "string", id: 1 },
            value: { rule: "required", type: "string", id: 2 },
          },
        },
        Frame: {
          fields: {
            SeqID: { rule: "required", type: "uint64", id: 1 },
            LogID: { rule: "required", type: "uint64", id: 2 },
            service: { rule: "required", type: "int32", id: 3 },
            method: { rule: "required", type: "int32", id: 4 },
            headers: { rule: "repeated", type: "Header", id: 5 },
            payloadEncoding: { type: "string", id: 6 },
            payloadType: { type: "string", id: 7 },
            payload: { type: "bytes", id: 8 },
            LogIDNew: { type: "string", id: 9 },
          },
        },
      },
    },
  },
}).lookupType("pbbp2.Frame");

interface FrameShape {
  SeqID: number;
  LogID: number;
  service: number;
  method: number;
  headers: { key: string; value: string }[];
  payload?: Uint8Array;
}

/** ClientConfig as the endpoint and pong frames carry it, in seconds. */
export interface FeishuClientConfig {
  ReconnectCount: number;
  ReconnectInterval: number;
  ReconnectNonce: number;
  PingInterval: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
  authorization: string;
}

/** A message the bot sent, as Feishu stored it. */
export interface SentMessage {
  via: "create" | "reply";
  chatId: string;
  replyTo?: string;
  msgType: string;
  content: Record<string, unknown>;
  /** The visible text: a text's text, a post's elements, a card's markdown. */
  text: string;
}

export interface UserMessage {
  chatId: string;
  senderOpenId: string;
  text?: string;
  chatType?: "p2p" | "group";
  messageType?: string;
  /** Raw content JSON; default {"text": text}. */
  content?: string;
  mentions?: { key: string; name: string; openId: string }[];
  senderType?: "user" | "app";
}

/** A fault for the next request to one path: the HTTP status and Feishu's code. */
export interface FakeFault {
  status: number;
  code: number;
  msg?: string;
}

interface PendingEvent {
  eventId: string;
  messageId: string;
  payload: Buffer;
}

export class FakeFeishu {
  readonly requests: FakeRequest[] = [];
  readonly sent: SentMessage[] = [];
  /** Response codes of the client's answers, per event_id, in order. */
  readonly answers = new Map<string, number[]>();
  endpointRequests = 0;
  connections = 0;
  pings = 0;
  /** While true, the endpoint answers "internal error" (retryable), as during a Feishu incident. */
  refuseConnections = false;
  /** Payloads longer than this go out in fragments (sum/seq headers). */
  fragmentBytes = Number.POSITIVE_INFINITY;
  /** When set, events go out as {"encrypt": ...}: AES-256-CBC, key sha256(encryptKey), IV first. */
  encryptKey = "";
  readonly domain: string;
  private readonly wss = new WebSocketServer({ noServer: true });
  private socket: WebSocket | undefined;
  private readonly tickets = new Set<string>();
  private readonly tokens = new Set<string>();
  private readonly chats = new Map<string, string>();
  private readonly faults = new Map<string, FakeFault[]>();
  private readonly unanswered: PendingEvent[] = [];
  private readonly answered: PendingEvent[] = [];
  private nextSeq = 1;
  private nextMessage = 1;

  private constructor(
    private readonly server: http.Server,
    readonly clientConfig: FeishuClientConfig,
  ) {
    this.domain = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Starts the fake; reconnects are immediate unless `clientConfig` says otherwise. */
  static async start(clientConfig: Partial<FeishuClientConfig> = {}): Promise<FakeFeishu> {
    let fake: FakeFeishu | undefined;
    const server = http.createServer((req, res) => void fake?.handle(req, res));
    server.on("upgrade", (req, socket, head) => fake?.upgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeFeishu(server, {
      ReconnectCount: -1,
      ReconnectInterval: 0.05,
      ReconnectNonce: 0,
      PingInterval: 120,
      ...clientConfig,
    });
    return fake;
  }

  /** Closes the long connection and stops listening. */
  async close(): Promise<void> {
    this.socket?.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Whether a client holds the long connection now. */
  connected(): boolean {
    return this.socket?.readyState === 1;
  }

  /** Requests to one path (without the query), in order. */
  requestsTo(path: string): FakeRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Texts the bot sent into a chat (created there or replying to a message in it). */
  sentTo(chatId: string): SentMessage[] {
    return this.sent.filter((message) => message.chatId === chatId);
  }

  /** A user writes; the event goes out now if a client is connected, else when one connects. */
  userSays(message: UserMessage): string {
    const messageId = `om_${String(this.nextMessage++).padStart(8, "0")}`;
    this.chats.set(messageId, message.chatId);
    const event = {
      schema: "2.0",
      header: {
        event_id: randomBytes(16).toString("hex"),
        token: "",
        create_time: String(Date.now()),
        event_type: "im.message.receive_v1",
        tenant_key: "tenant_family",
        app_id: APP_ID,
      },
      event: {
        sender: {
          sender_id: { open_id: message.senderOpenId, union_id: `on_${message.senderOpenId}` },
          sender_type: message.senderType ?? "user",
          tenant_key: "tenant_family",
        },
        message: {
          message_id: messageId,
          create_time: String(Date.now()),
          chat_id: message.chatId,
          chat_type: message.chatType ?? "p2p",
          message_type: message.messageType ?? "text",
          content: message.content ?? JSON.stringify({ text: message.text ?? "" }),
          mentions: (message.mentions ?? []).map((mention) => ({
            key: mention.key,
            id: { open_id: mention.openId, union_id: `on_${mention.openId}` },
            name: mention.name,
            tenant_key: "tenant_family",
          })),
        },
      },
    };
    const pending = { eventId: event.header.event_id, messageId, payload: this.seal(JSON.stringify(event)) };
    this.unanswered.push(pending);
    this.push(pending);
    return messageId;
  }

  /** The next requests to `path` fail with these faults, one per request. */
  failNext(path: string, ...faults: FakeFault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  /** Feishu hands out every event it already had answered once more (it does, now and then). */
  redeliverAnswered(): void {
    for (const event of this.answered.splice(0)) {
      this.unanswered.push(event);
      this.push(event);
    }
  }

  /** Drops the long connection from the server side, as a Feishu gateway restart does. */
  dropConnection(): void {
    this.socket?.terminate();
  }

  private seal(json: string): Buffer {
    if (!this.encryptKey) return Buffer.from(json);
    const iv = randomBytes(16);
    const key = createHash("sha256").update(this.encryptKey).digest();
    const cipher = createCipheriv("aes-256-cbc", key, iv);
    const sealed = Buffer.concat([iv, cipher.update(json, "utf8"), cipher.final()]);
    return Buffer.from(JSON.stringify({ encrypt: sealed.toString("base64") }));
  }

  private push(event: PendingEvent): void {
    const socket = this.socket;
    if (socket?.readyState !== 1) return;
    const frameId = randomBytes(8).toString("hex");
    const size = Math.min(this.fragmentBytes, event.payload.length) || 1;
    const parts = Math.ceil(event.payload.length / size);
    for (let seq = 0; seq < parts; seq++) {
      const seqId = this.nextSeq++;
      this.sendFrame(socket, {
        SeqID: seqId,
        LogID: seqId,
        service: SERVICE_ID,
        method: FRAME_DATA,
        headers: [
          { key: "type", value: "event" },
          { key: "message_id", value: frameId },
          { key: "sum", value: String(parts) },
          { key: "seq", value: String(seq) },
          { key: "trace_id", value: event.eventId },
        ],
        payload: event.payload.subarray(seq * size, (seq + 1) * size),
      });
    }
  }

  private sendFrame(socket: WebSocket, frame: FrameShape): void {
    socket.send(Frame.encode(Frame.fromObject(frame)).finish());
  }

  private onFrame(socket: WebSocket, data: Buffer): void {
    const frame = Frame.toObject(Frame.decode(data), { longs: Number, bytes: Buffer }) as FrameShape;
    const header = (key: string) => frame.headers?.find((item) => item.key === key)?.value;
    if (frame.method === FRAME_CONTROL && header("type") === "ping") {
      this.pings++;
      this.sendFrame(socket, {
        SeqID: 0,
        LogID: 0,
        service: SERVICE_ID,
        method: FRAME_CONTROL,
        headers: [{ key: "type", value: "pong" }],
        payload: Buffer.from(JSON.stringify(this.clientConfig)),
      });
      return;
    }
    if (frame.method !== FRAME_DATA) return;
    // The client answers an event with the frame it got back, its payload replaced by {"code": ...}.
    const eventId = header("trace_id") ?? "";
    const code = Number(JSON.parse(Buffer.from(frame.payload ?? []).toString("utf8")).code);
    this.answers.set(eventId, [...(this.answers.get(eventId) ?? []), code]);
    const index = this.unanswered.findIndex((event) => event.eventId === eventId);
    const event = this.unanswered[index];
    if (!event) return;
    if (code === 200) {
      this.unanswered.splice(index, 1);
      this.answered.push(event);
    } else {
      setTimeout(() => this.push(event), 20);
    }
  }

  private upgrade(req: http.IncomingMessage, socket: import("node:stream").Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", this.domain);
    const ticket = url.searchParams.get("ticket") ?? "";
    if (url.pathname !== "/ws/v2" || !this.tickets.delete(ticket)) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.connections++;
      this.socket?.terminate();
      this.socket = ws;
      ws.on("message", (data: Buffer) => this.onFrame(ws, data));
      ws.on("close", () => {
        if (this.socket === ws) this.socket = undefined;
      });
      for (const event of this.unanswered) this.push(event);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", this.domain);
    let body: Record<string, unknown> = {};
    try {
      body = raw.length ? (JSON.parse(raw.toString("utf8")) as Record<string, unknown>) : {};
    } catch {
      return reply(res, 400, { code: 9499, msg: "Bad Request: body is not JSON" });
    }
    const request: FakeRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      authorization: String(req.headers.authorization ?? ""),
    };
    this.requests.push(request);
    const fault = this.faults.get(request.path)?.shift();
    if (fault) return reply(res, fault.status, { code: fault.code, msg: fault.msg ?? "fault injected" });
    const [status, answer] = this.answer(request, raw.length);
    reply(res, status, answer);
  }

  private answer(request: FakeRequest, bodyBytes: number): [number, Record<string, unknown>] {
    const { path, body } = request;
    if (path === "/open-apis/auth/v3/tenant_access_token/internal") {
      if (body.app_id !== APP_ID || body.app_secret !== APP_SECRET)
        return [200, { code: 10014, msg: "app secret invalid" }];
      const token = `t-${randomBytes(12).toString("hex")}`;
      this.tokens.add(token);
      return [200, { code: 0, msg: "ok", tenant_access_token: token, expire: 7200 }];
    }
    if (path === "/callback/ws/endpoint") {
      this.endpointRequests++;
      if (body.AppID !== APP_ID || body.AppSecret !== APP_SECRET)
        return [200, { code: 514, msg: "auth failed" }];
      if (this.refuseConnections) return [200, { code: 1000040343, msg: "internal error" }];
      const ticket = randomBytes(12).toString("hex");
      this.tickets.add(ticket);
      const port = new URL(this.domain).port;
      const URL_ = `ws://127.0.0.1:${port}/ws/v2?fpid=493&aid=552564&device_id=7000${this.connections}&access_key=k&service_id=${SERVICE_ID}&ticket=${ticket}`;
      return [200, { code: 0, msg: "ok", data: { URL: URL_, ClientConfig: this.clientConfig } }];
    }
    if (!this.tokens.has(request.authorization.replace(/^Bearer /, "")))
      return [
        400,
        {
          code: 99991663,
          msg: "Invalid access token for authorization. Please make a request with token attached.",
        },
      ];
    if (path === "/open-apis/bot/v3/info" && request.method === "GET")
      return [
        200,
        { code: 0, msg: "ok", bot: { activate_status: 2, app_name: "MedBot", open_id: BOT_OPEN_ID } },
      ];
    if (path === "/open-apis/im/v1/messages" && request.method === "POST") {
      if (request.query.receive_id_type !== "chat_id")
        return [400, { code: 230001, msg: "invalid receive_id_type" }];
      return this.store("create", String(body.receive_id ?? ""), undefined, body, bodyBytes);
    }
    const replyMatch = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/.exec(path);
    if (replyMatch && request.method === "POST") {
      const chatId = this.chats.get(replyMatch[1] ?? "");
      if (!chatId)
        return [400, { code: 230011, msg: "The message is not found, maybe not exist or deleted." }];
      return this.store("reply", chatId, replyMatch[1], body, bodyBytes);
    }
    return [404, { code: 404, msg: "404 page not found" }];
  }

  private store(
    via: SentMessage["via"],
    chatId: string,
    replyTo: string | undefined,
    body: Record<string, unknown>,
    bodyBytes: number,
  ): [number, Record<string, unknown>] {
    const msgType = String(body.msg_type ?? "");
    if (!chatId.startsWith("oc_")) return [400, { code: 230001, msg: "invalid receive_id" }];
    if (!["text", "post", "interactive"].includes(msgType))
      return [400, { code: 230001, msg: `unsupported msg_type ${msgType}` }];
    if (bodyBytes > (msgType === "text" ? TEXT_LIMIT : RICH_LIMIT))
      return [400, { code: 230025, msg: "The length of the message content reaches its limit." }];
    let content: Record<string, unknown>;
    try {
      content = JSON.parse(String(body.content)) as Record<string, unknown>;
    } catch {
      return [400, { code: 230001, msg: "content is not a JSON string" }];
    }
    const text = visibleText(msgType, content);
    if (text === undefined) return [400, { code: 230001, msg: `content does not fit msg_type ${msgType}` }];
    const messageId = `om_bot_${String(this.nextMessage++).padStart(8, "0")}`;
    this.chats.set(messageId, chatId);
    this.sent.push({ via, chatId, ...(replyTo ? { replyTo } : {}), msgType, content, text });
    return [
      200,
      { code: 0, msg: "success", data: { message_id: messageId, chat_id: chatId, msg_type: msgType } },
    ];
  }
}

/** What the chat shows for a message body; undefined when the content does not fit its type. */
function visibleText(msgType: string, content: Record<string, unknown>): string | undefined {
  if (msgType === "text") return typeof content.text === "string" ? content.text : undefined;
  if (msgType === "post") {
    const post = Object.values(content)[0] as { content?: { tag: string; text?: string }[][] } | undefined;
    if (!Array.isArray(post?.content)) return undefined;
    return post.content.map((line) => line.map((element) => element.text ?? "").join("")).join("\n");
  }
  const body = content.body as { elements?: { tag: string; content?: string }[] } | undefined;
  const elements = body?.elements ?? (content.elements as { tag: string; content?: string }[] | undefined);
  if (!Array.isArray(elements)) return undefined;
  return elements.map((element) => element.content ?? "").join("\n");
}
