// A small QQ bot platform on 127.0.0.1: the token endpoint (same token until its last 60 s, as QQ does), the
// OpenAPI (/gateway and the C2C and group send endpoints, with `QQBot <token>` checked, msg_id + msg_seq
// de-duplicated and every call recorded), and the websocket gateway with hello, identify, heartbeat, resume
// (missed events replayed after the client's seq), op 7 reconnect and op 9 invalid session. Faults on demand.
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { readBody, reply } from "./http.js";

export const APP_ID = "102030405";
export const APP_SECRET = "naOC0ocQE3shWLAfffVLB1rhYPG7";
const GROUP_AND_C2C_EVENT = 1 << 25;

export interface SentMessage {
  kind: "c2c" | "group";
  openid: string;
  body: Record<string, unknown>;
  token: string;
  at: number;
}

/** A frame the client sent on the gateway. */
export interface ClientFrame {
  op: number;
  d: unknown;
  at: number;
}

interface Dispatch {
  s: number;
  t: string;
  d: unknown;
}

interface Session {
  id: string;
  seq: number;
  log: Dispatch[];
  socket: WebSocket | undefined;
}

export interface FakeQqOptions {
  /** expires_in of issued tokens, seconds. */
  tokenTtlS?: number;
  /** heartbeat_interval sent in hello, milliseconds. */
  heartbeatMs?: number;
}

export class FakeQq {
  readonly sent: SentMessage[] = [];
  readonly frames: ClientFrame[] = [];
  /** Tokens issued, in order. */
  readonly issued: string[] = [];
  /** Every HTTP request: "METHOD /path". */
  readonly httpCalls: string[] = [];
  gatewayFetches = 0;
  connections = 0;
  /** When false, heartbeats get no op 11 (a zombie connection). */
  ackHeartbeats = true;
  private readonly tokens = new Map<string, number>();
  private readonly sendFaults: number[] = [];
  private readonly seen = new Set<string>();
  private session: Session | undefined;
  private identifyCloseCode: number | undefined;
  private nextMessage = 1;
  readonly apiBase: string;
  readonly tokenUrl: string;

  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    private readonly options: Required<FakeQqOptions>,
  ) {
    const port = (server.address() as AddressInfo).port;
    this.apiBase = `http://127.0.0.1:${port}`;
    this.tokenUrl = `http://127.0.0.1:${port}/app/getAppAccessToken`;
  }

  /** Starts the fake platform on a free loopback port. */
  static async start(options: FakeQqOptions = {}): Promise<FakeQq> {
    let fake: FakeQq | undefined;
    const server = http.createServer((req, res) => {
      void fake?.handle(req, res);
    });
    const wss = new WebSocketServer({ server, path: "/websocket" });
    wss.on("connection", (socket) => fake?.connected(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeQq(server, wss, { tokenTtlS: 7200, heartbeatMs: 200, ...options });
    return fake;
  }

  /** Stops the HTTP server and the gateway. */
  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The id of the current gateway session (handed out in READY). */
  get sessionId(): string | undefined {
    return this.session?.id;
  }

  /** A user writes to the bot in a private chat; returns the message id. */
  userSays(userOpenid: string, content: string): string {
    const id = `ROBOT1.0_c2c_${this.nextMessage++}`;
    this.dispatch("C2C_MESSAGE_CREATE", {
      id,
      author: { user_openid: userOpenid },
      content,
      timestamp: new Date().toISOString(),
    });
    return id;
  }

  /** A member @-mentions the bot in a group (QQ strips the mention, leaving a space); returns the id. */
  memberSays(groupOpenid: string, memberOpenid: string, content: string): string {
    const id = `ROBOT1.0_group_${this.nextMessage++}`;
    this.dispatch("GROUP_AT_MESSAGE_CREATE", {
      id,
      author: { member_openid: memberOpenid },
      content: ` ${content}`,
      group_openid: groupOpenid,
      timestamp: new Date().toISOString(),
    });
    return id;
  }

  /** QQ pushes every message event it pushed once more (it does, rarely), with new sequence numbers. */
  repeatDelivered(): void {
    const messages = this.session?.log.filter((event) => event.t.endsWith("MESSAGE_CREATE")) ?? [];
    for (const event of messages) this.dispatch(event.t, event.d);
  }

  /** Drops the socket without a close frame; the session stays resumable. */
  dropConnection(): void {
    this.session?.socket?.terminate();
  }

  /** Tells the client to reconnect (op 7). */
  requestReconnect(): void {
    this.session?.socket?.send(JSON.stringify({ op: 7 }));
  }

  /** Forgets the session and answers op 9 to the current socket: the client must identify anew. */
  invalidateSession(): void {
    const socket = this.session?.socket;
    this.session = undefined;
    socket?.send(JSON.stringify({ op: 9, d: false }));
  }

  /** Every identify from now on is answered by closing the socket with `code` (4915: the bot is banned). */
  refuseIdentify(code: number): void {
    this.identifyCloseCode = code;
  }

  /** Makes every issued token invalid, as after a secret reset. */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The next send requests fail with these HTTP statuses, one per request. */
  failNextSends(...statuses: number[]): void {
    this.sendFaults.push(...statuses);
  }

  /** Frames of one opcode the client sent. */
  framesOf(op: number): ClientFrame[] {
    return this.frames.filter((frame) => frame.op === op);
  }

  /** Texts sent to one user or group, in order. */
  textsTo(openid: string): string[] {
    return this.sent
      .filter((message) => message.openid === openid)
      .map((message) => String(message.body.content));
  }

  private dispatch(t: string, d: unknown): void {
    const session = this.session;
    if (!session) throw new Error("fake QQ: no session; the bot has not identified");
    const event = { s: ++session.seq, t, d };
    session.log.push(event);
    if (session.socket?.readyState === 1) session.socket.send(JSON.stringify({ op: 0, ...event }));
  }

  private connected(socket: WebSocket): void {
    this.connections++;
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.options.heartbeatMs } }));
    socket.on("message", (raw) => {
      let frame: { op?: number; d?: unknown };
      try {
        frame = JSON.parse(String(raw)) as typeof frame;
      } catch {
        return socket.close(4002, "invalid payload");
      }
      this.frames.push({ op: Number(frame.op), d: frame.d, at: Date.now() });
      this.onFrame(socket, Number(frame.op), (frame.d ?? {}) as Record<string, unknown>);
    });
    socket.on("close", () => {
      if (this.session?.socket === socket) this.session.socket = undefined;
    });
  }

  private onFrame(socket: WebSocket, op: number, d: Record<string, unknown>): undefined {
    if (op === 1) {
      if (this.ackHeartbeats) socket.send(JSON.stringify({ op: 11 }));
      return;
    }
    if (op === 2) {
      if (!this.validAuth(String(d.token ?? ""))) return closeWith(socket, 4004, "invalid token");
      if ((Number(d.intents) & GROUP_AND_C2C_EVENT) === 0) return closeWith(socket, 4013, "invalid intent");
      if (this.identifyCloseCode) return closeWith(socket, this.identifyCloseCode, "refused");
      this.session?.socket?.terminate();
      this.session = { id: randomUUID(), seq: 0, log: [], socket };
      this.dispatch("READY", {
        version: 1,
        session_id: this.session.id,
        user: { id: "6158788878435714165", username: "medbot", bot: true },
        shard: [0, 1],
      });
      return;
    }
    if (op === 6) {
      const session = this.session;
      if (!this.validAuth(String(d.token ?? ""))) return closeWith(socket, 4004, "invalid token");
      if (!session || d.session_id !== session.id) {
        socket.send(JSON.stringify({ op: 9, d: false }));
        return;
      }
      session.socket = socket;
      for (const event of session.log.filter((logged) => logged.s > Number(d.seq ?? 0)))
        socket.send(JSON.stringify({ op: 0, ...event }));
      socket.send(JSON.stringify({ op: 0, s: ++session.seq, t: "RESUMED", d: "" }));
      return;
    }
    socket.close(4001, "invalid opcode");
  }

  private validAuth(authorization: string): boolean {
    const match = /^QQBot (.+)$/.exec(authorization);
    const expires = match ? this.tokens.get(match[1] ?? "") : undefined;
    return expires !== undefined && expires > Date.now();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readBody(req)).toString("utf8");
    const url = req.url ?? "";
    this.httpCalls.push(`${req.method} ${url}`);
    if (req.method === "POST" && url === "/app/getAppAccessToken") return this.issueToken(body, res);
    const authorization = String(req.headers.authorization ?? "");
    if (!this.validAuth(authorization))
      return reply(res, 401, { code: 11244, message: "token not exist or expire" });
    if (req.method === "GET" && url === "/gateway") {
      this.gatewayFetches++;
      return reply(res, 200, { url: `${this.apiBase.replace("http", "ws")}/websocket` });
    }
    const send = /^\/v2\/(users|groups)\/([^/]+)\/messages$/.exec(url);
    if (req.method === "POST" && send) {
      const params = JSON.parse(body || "{}") as Record<string, unknown>;
      const fault = this.sendFaults.shift();
      if (fault) return reply(res, fault, { code: fault, message: "internal error" });
      if (params.msg_type !== 0 || typeof params.content !== "string" || params.content === "")
        return reply(res, 400, { code: 40034006, message: "invalid content or msg_type" });
      if (params.msg_id !== undefined) {
        const key = `${String(params.msg_id)}#${String(params.msg_seq ?? 1)}`;
        if (this.seen.has(key))
          return reply(res, 400, { code: 40054005, message: "消息被去重，请检查请求msgseq" });
        this.seen.add(key);
      }
      this.sent.push({
        kind: send[1] === "groups" ? "group" : "c2c",
        openid: decodeURIComponent(send[2] ?? ""),
        body: params,
        token: authorization.slice("QQBot ".length),
        at: Date.now(),
      });
      return reply(res, 200, { id: `sent_${this.sent.length}`, timestamp: Math.floor(Date.now() / 1000) });
    }
    reply(res, 404, { code: 404, message: "not found" });
  }

  private issueToken(body: string, res: http.ServerResponse): undefined {
    const params = JSON.parse(body || "{}") as Record<string, unknown>;
    if (params.appId !== APP_ID || params.clientSecret !== APP_SECRET)
      return reply(res, 200, { code: 100016, message: "invalid appid or secret" });
    const now = Date.now();
    // Like QQ: the same token until its last 60 seconds, then a new one (the old stays valid until expiry).
    const current = this.issued.at(-1);
    const expires = current ? this.tokens.get(current) : undefined;
    if (current && expires !== undefined && expires - now > 60_000)
      return reply(res, 200, {
        access_token: current,
        expires_in: String(Math.round((expires - now) / 1000)),
      });
    const token = `token-${this.issued.length + 1}`;
    this.issued.push(token);
    this.tokens.set(token, now + this.options.tokenTtlS * 1000);
    return reply(res, 200, { access_token: token, expires_in: String(this.options.tokenTtlS) });
  }
}

function closeWith(socket: WebSocket, code: number, reason: string): undefined {
  socket.close(code, reason);
}

/** Signs a callback as QQ does: Ed25519 over timestamp + body, seeded by the secret repeated to 32 bytes. */
export function signCallback(secret: string, timestamp: string, body: string): string {
  const seed = Buffer.from(secret.repeat(Math.ceil(32 / secret.length))).subarray(0, 32);
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return sign(null, Buffer.from(timestamp + body), key).toString("hex");
}
