// A WhatsApp bridge of our own, speaking the bridge protocol (src/bridge-protocol/protocol.ts) with its rules: no
// Origin header, auth first with the right token, one gateway at a time, inbound messages kept until acked
// and re-sent in order to the next connection, media announced and saved (with the bridge's own saveMedia)
// only when a download is asked for. WhatsApp itself is scripted: the test says what users write and attach,
// which state the session is in, and whether a send or a download succeeds. It listens on a Unix socket
// (where the gateway meets its bridge) or, as a squatter would, on a TCP port of 127.0.0.1; a squatter
// takes any token it is given.
import * as fs from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { saveMedia } from "../../bridge/src/media.js";
import {
  CLOSE_AUTH_FAILED,
  CLOSE_REPLACED,
  type ConnectionState,
  type DownloadFrame,
  type GatewayFrame,
  type MessageFrame,
  parseGatewayFrame,
  type SendFrame,
} from "../../src/bridge-protocol/protocol.js";

export interface FakeBridgeOptions {
  token?: string;
  /** Listen on this Unix socket (its folder is created 0700 if missing); otherwise on TCP 127.0.0.1. */
  socketPath?: string;
  /** Listen on this TCP port (to stand in for a bridge that restarted); 0 picks one. */
  port?: number;
  /** A squatter: takes whatever token the gateway sends, and records it. */
  acceptAnyToken?: boolean;
  /** WhatsApp's state reported in ready. */
  state?: ConnectionState;
}

/** What a WhatsApp user writes; defaults make a direct chat. */
export interface FakeInbound {
  senderNumber: string | null;
  text: string;
  chatJid?: string;
  senderJid?: string;
  isGroup?: boolean;
  mentioned?: boolean;
  pushName?: string;
  /** A file that came with the message: announced as mediaPending, saved only when downloaded. */
  attachment?: FakeAttachment;
}

/** A file a WhatsApp user attaches. */
export interface FakeAttachment {
  filename: string;
  mimetype: string;
  bytes: string;
}

/** Message ids stay unique across fakes, as WhatsApp's do across bridge restarts. */
let nextId = 1;
let nextTimestamp = 1_790_000_000;

export class FakeBridge {
  /** Frames received from authenticated gateways, in order. */
  readonly received: GatewayFrame[] = [];
  /** Every auth attempt's token, right or wrong. */
  readonly authTokens: string[] = [];
  /** Messages handed out and not acked, in order. */
  private readonly unacked: MessageFrame[] = [];
  private readonly handedOut: MessageFrame[] = [];
  private readonly sendErrors: string[] = [];
  private readonly downloadErrors: string[] = [];
  private readonly attachments = new Map<string, FakeAttachment>();
  /** Where downloads are saved; the test points it at the gateway's media folder. */
  mediaDir: string | undefined;
  /** Leave download requests unanswered (a bridge that dies mid-download). */
  holdDownloads = false;
  /** Every WebSocket connection made to it, authenticated or not. */
  connections = 0;
  private gateway: WebSocket | undefined;
  private state: ConnectionState;

  private constructor(
    private readonly http: Server,
    private readonly server: WebSocketServer,
    readonly token: string,
    state: ConnectionState,
    /** Origins of upgrade requests refused with 403. */
    readonly refusedOrigins: string[],
    private readonly acceptAnyToken: boolean,
  ) {
    this.state = state;
    server.on("connection", (socket) => {
      this.connections++;
      this.accept(socket);
    });
  }

  /** Starts listening on the Unix socket `socketPath`, or on 127.0.0.1. */
  static async start(options: FakeBridgeOptions = {}): Promise<FakeBridge> {
    const refused: string[] = [];
    const http = createServer((_req, res) => res.writeHead(426).end());
    const server = new WebSocketServer({
      server: http,
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number) => void) => {
        // A browser page could reach a loopback port; browsers always send Origin, our gateway never does.
        const origin = info.req.headers.origin;
        if (origin) refused.push(origin);
        done(!origin, 403);
      },
    });
    if (options.socketPath) fs.mkdirSync(path.dirname(options.socketPath), { recursive: true, mode: 0o700 });
    await new Promise<void>((resolve, reject) => {
      http.once("listening", resolve);
      http.once("error", reject);
      if (options.socketPath) http.listen(options.socketPath);
      else http.listen(options.port ?? 0, "127.0.0.1");
    });
    if (options.socketPath) fs.chmodSync(options.socketPath, 0o600);
    return new FakeBridge(
      http,
      server,
      options.token ?? "bridge-token-0123456789abcdef",
      options.state ?? "open",
      refused,
      options.acceptAnyToken === true,
    );
  }

  /** The TCP port (squatter mode). */
  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The TCP address (squatter mode). */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Whether an authenticated gateway is connected. */
  get connected(): boolean {
    return this.gateway?.readyState === WebSocket.OPEN;
  }

  /** A WhatsApp user writes; the message goes to the gateway now, or to the next one that connects. */
  userSays(inbound: FakeInbound): MessageFrame {
    const chatJid = inbound.chatJid ?? `${inbound.senderNumber ?? "0"}@s.whatsapp.net`;
    const frame: MessageFrame = {
      type: "message",
      messageId: `3EB0${String(nextId++).padStart(8, "0")}`,
      chatJid,
      senderJid: inbound.senderJid ?? `${inbound.senderNumber}@s.whatsapp.net`,
      senderNumber: inbound.senderNumber,
      text: inbound.text,
      isGroup: inbound.isGroup ?? false,
      mentioned: inbound.mentioned ?? false,
      timestamp: nextTimestamp++,
      ...(inbound.pushName ? { pushName: inbound.pushName } : {}),
      ...(inbound.attachment
        ? {
            mediaPending: {
              filename: inbound.attachment.filename,
              mimetype: inbound.attachment.mimetype,
              size: Buffer.byteLength(inbound.attachment.bytes),
            },
          }
        : {}),
    };
    if (inbound.attachment) this.attachments.set(frame.messageId, inbound.attachment);
    this.unacked.push(frame);
    this.handOut(frame);
    return frame;
  }

  /** Hands out every message handed out so far once more, acked or not (a bridge bug, or a race). */
  repeatHandedOut(): void {
    for (const frame of [...this.handedOut]) this.gateway?.send(JSON.stringify(frame));
  }

  /** WhatsApp's session changes state; the gateway is told. */
  setState(state: ConnectionState, detail?: string): void {
    this.state = state;
    this.gateway?.send(JSON.stringify({ type: "status", state, ...(detail ? { detail } : {}) }));
  }

  /** The next sends fail with these errors, one each. */
  failNextSends(...errors: string[]): void {
    this.sendErrors.push(...errors);
  }

  /** The next downloads fail with these errors, one each. */
  failNextDownloads(...errors: string[]): void {
    this.downloadErrors.push(...errors);
  }

  /** Message ids whose media the gateway asked to download, in order. */
  downloads(): string[] {
    return this.received.flatMap((frame) => (frame.type === "download" ? [frame.messageId] : []));
  }

  /** Ids the gateway acked, in order. */
  acks(): string[] {
    return this.received.flatMap((frame) => (frame.type === "ack" ? [frame.messageId] : []));
  }

  /** Send frames the gateway sent to `jid`. */
  sendsTo(jid: string): SendFrame[] {
    return this.received.flatMap((frame) => (frame.type === "send" && frame.to === jid ? [frame] : []));
  }

  /** Messages still waiting for an ack. */
  pendingIds(): string[] {
    return this.unacked.map((frame) => frame.messageId);
  }

  /** Stops listening and drops the connection, like a bridge that crashed. */
  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    let authed = false;
    socket.on("message", (data: Buffer) => {
      let frame: GatewayFrame;
      try {
        frame = parseGatewayFrame(data);
      } catch {
        socket.close(CLOSE_AUTH_FAILED);
        return;
      }
      if (!authed) {
        if (frame.type !== "auth") return socket.close(CLOSE_AUTH_FAILED);
        this.authTokens.push(frame.token);
        if (frame.token !== this.token && !this.acceptAnyToken) return socket.close(CLOSE_AUTH_FAILED);
        authed = true;
        this.attach(socket);
        return;
      }
      if (socket !== this.gateway) return;
      this.received.push(frame);
      this.handle(frame);
    });
  }

  private attach(socket: WebSocket): void {
    const older = this.gateway;
    this.gateway = socket;
    older?.close(CLOSE_REPLACED);
    socket.send(JSON.stringify({ type: "ready", state: this.state }));
    for (const frame of this.unacked) this.handOut(frame);
  }

  private handOut(frame: MessageFrame): void {
    if (!this.connected) return;
    this.gateway?.send(JSON.stringify(frame));
    if (!this.handedOut.includes(frame)) this.handedOut.push(frame);
  }

  private handle(frame: GatewayFrame): void {
    if (frame.type === "ack") {
      const index = this.unacked.findIndex((message) => message.messageId === frame.messageId);
      if (index >= 0) this.unacked.splice(index, 1);
    } else if (frame.type === "send") {
      const error = this.sendErrors.shift();
      const result = error
        ? { type: "result", id: frame.id, ok: false, error }
        : { type: "result", id: frame.id, ok: true };
      this.gateway?.send(JSON.stringify(result));
    } else if (frame.type === "download" && !this.holdDownloads) {
      this.gateway?.send(JSON.stringify(this.download(frame)));
    }
  }

  private download(frame: DownloadFrame): object {
    const attachment = this.attachments.get(frame.messageId);
    const error =
      this.downloadErrors.shift() ??
      (!attachment ? `no media waiting for message ${frame.messageId}` : undefined) ??
      (!this.mediaDir ? "the fake bridge has no media folder" : undefined);
    if (error || !attachment || !this.mediaDir) return { type: "result", id: frame.id, ok: false, error };
    const { filename, mimetype, bytes } = attachment;
    const saved = saveMedia(this.mediaDir, filename, mimetype, Buffer.from(bytes));
    return { type: "result", id: frame.id, ok: true, media: saved };
  }
}
