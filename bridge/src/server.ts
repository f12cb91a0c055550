// The gateway's door into the bridge: a WebSocket on a Unix socket (0600) in a 0700 folder of the data
// folder, so only our own user reaches it; the place is claimed by src/bridge-protocol/socket.ts, which refuses a path something
// else holds. Browsers are shut out (any Origin header is refused before the upgrade), the first frame must
// carry the token, and only the newest authenticated gateway is served. Inbound messages stay buffered until the gateway acks them, so a
// gateway that dies before storing one gets it again on its next connection. Media is downloaded only when
// that gateway asks for it (a `download` frame), after its access gate let the sender in.
import { createHash, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import {
  type BridgeFrame,
  CLOSE_AUTH_FAILED,
  CLOSE_AUTH_TIMEOUT,
  CLOSE_REPLACED,
  type ConnectionState,
  encodeFrame,
  MAX_FRAME_BYTES,
  type MessageFrame,
  ProtocolError,
  parseGatewayFrame,
  type SendFrame,
  type StatusFrame,
} from "../../src/bridge-protocol/protocol.js";
import { claimBridgeSocket } from "../../src/bridge-protocol/socket.js";
import type { Logger } from "../../src/log.js";
import type { SavedMedia } from "./media.js";

/** What the server needs from the WhatsApp session. */
export interface SessionPort {
  state(): ConnectionState;
  send(frame: SendFrame): Promise<void>;
  download(messageId: string): Promise<SavedMedia>;
}

export interface BridgeServerOptions {
  token: string;
  /** The Unix socket to listen on (bridgeSocketPath of the data folder). */
  socketPath: string;
  session: SessionPort;
  logger: Logger;
  /** How long a new connection may take to authenticate (protocol: 5 s). */
  authTimeoutMs?: number;
  /** How many unacked inbound messages are kept for the next gateway connection. */
  maxUnacked?: number;
}

/** The bridge's WebSocket server. */
export class BridgeServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly tokenDigest: Buffer;
  private gateway: WebSocket | undefined;
  private lastStatus: StatusFrame | undefined;
  // Insertion-ordered, so a resend keeps the order messages arrived in.
  private readonly unacked = new Map<string, MessageFrame>();

  constructor(private readonly options: BridgeServerOptions) {
    if (!options.token) throw new Error("the bridge needs a token (MEDBOT_BRIDGE_TOKEN)");
    this.tokenDigest = digest(options.token);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    this.http = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only\n");
    });
    this.http.on("upgrade", (req, socket, head) => {
      // Browsers always send Origin on a WebSocket; the gateway never does. This stops web pages.
      if (req.headers.origin !== undefined) {
        this.options.logger.warn("bridge refused a connection carrying an Origin header");
        socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
  }

  /**
   * Claims the socket path (folders 0700, a dead bridge's socket removed; throws BridgeSocketError when
   * something else holds it), listens there and makes the socket 0600.
   */
  async listen(): Promise<void> {
    const { socketPath, logger } = this.options;
    if ((await claimBridgeSocket(socketPath)) === "stale removed") {
      logger.info({ socketPath }, "removed the socket a stopped bridge left behind");
    }
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      // The socket is created with the umask's mode; 0077 keeps it ours from its first moment.
      const umask = process.umask(0o077);
      try {
        this.http.listen(socketPath, () => {
          this.http.off("error", reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    fs.chmodSync(socketPath, 0o600);
  }

  /** Closes every connection and the listening socket (which removes the socket file). */
  async close(): Promise<void> {
    for (const client of this.wss.clients) client.close(1001, "bridge stopping");
    this.gateway = undefined;
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Forwards a connection state change to the gateway, and remembers it for the next one. */
  publishStatus(frame: StatusFrame): void {
    this.lastStatus = frame;
    this.sendToGateway(frame);
  }

  /** Buffers an inbound message until acked and forwards it to the gateway if one is connected. */
  publishMessage(frame: MessageFrame): void {
    this.unacked.delete(frame.messageId);
    this.unacked.set(frame.messageId, frame);
    const max = this.options.maxUnacked ?? 1000;
    for (const oldest of this.unacked.keys()) {
      if (this.unacked.size <= max) break;
      this.unacked.delete(oldest);
      this.options.logger.warn({ messageId: oldest }, "bridge dropped an unacked message (buffer full)");
    }
    this.sendToGateway(frame);
  }

  /** How many inbound messages still wait for the gateway's ack. */
  unackedCount(): number {
    return this.unacked.size;
  }

  private onConnection(ws: WebSocket): void {
    const { logger } = this.options;
    let authenticated = false;
    const timer = setTimeout(() => {
      if (!authenticated) ws.close(CLOSE_AUTH_TIMEOUT, "auth expected");
    }, this.options.authTimeoutMs ?? 5_000);
    ws.on("close", () => {
      clearTimeout(timer);
      if (this.gateway === ws) this.gateway = undefined;
    });
    ws.on("error", (error) => logger.warn({ err: error.message }, "bridge connection error"));
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        ws.close(1003, "text frames only");
        return;
      }
      if (!authenticated) {
        authenticated = this.authenticate(ws, data);
        if (authenticated) clearTimeout(timer);
        return;
      }
      this.onGatewayFrame(ws, data);
    });
  }

  private authenticate(ws: WebSocket, data: RawData): boolean {
    let frame: ReturnType<typeof parseGatewayFrame>;
    try {
      frame = parseGatewayFrame(rawText(data));
    } catch {
      ws.close(CLOSE_AUTH_TIMEOUT, "auth expected");
      return false;
    }
    if (frame.type !== "auth") {
      ws.close(CLOSE_AUTH_TIMEOUT, "auth expected");
      return false;
    }
    if (!timingSafeEqual(digest(frame.token), this.tokenDigest)) {
      this.options.logger.warn("bridge refused a gateway with a wrong token");
      ws.close(CLOSE_AUTH_FAILED, "wrong token");
      return false;
    }
    const previous = this.gateway;
    this.gateway = ws;
    if (previous && previous.readyState === WebSocket.OPEN) previous.close(CLOSE_REPLACED, "replaced");
    this.options.logger.info({ unacked: this.unacked.size }, "gateway connected to the bridge");
    this.sendTo(ws, { type: "ready", state: this.options.session.state() });
    // A login command connecting now still needs the current QR code or the reason we stopped.
    if (this.lastStatus && (this.lastStatus.qr || this.lastStatus.detail)) this.sendTo(ws, this.lastStatus);
    for (const frame of this.unacked.values()) this.sendTo(ws, frame);
    return true;
  }

  private onGatewayFrame(ws: WebSocket, data: RawData): void {
    if (ws !== this.gateway) return;
    let frame: ReturnType<typeof parseGatewayFrame>;
    try {
      frame = parseGatewayFrame(rawText(data));
    } catch (error) {
      const reason = error instanceof ProtocolError ? error.message : "unreadable frame";
      this.options.logger.warn({ reason }, "bridge ignored a bad frame from the gateway");
      return;
    }
    switch (frame.type) {
      case "auth":
        return;
      case "ack":
        this.unacked.delete(frame.messageId);
        return;
      case "send":
        this.options.session.send(frame).then(
          () => this.sendTo(ws, { type: "result", id: frame.id, ok: true }),
          (error: Error) => this.refuse(ws, frame.id, error, "whatsapp send failed"),
        );
        return;
      case "download":
        this.options.session.download(frame.messageId).then(
          ({ path, filename, mimetype }) =>
            this.sendTo(ws, { type: "result", id: frame.id, ok: true, media: { path, filename, mimetype } }),
          (error: Error) => this.refuse(ws, frame.id, error, "whatsapp media download failed"),
        );
        return;
    }
  }

  private refuse(ws: WebSocket, id: string, error: Error, what: string): void {
    this.options.logger.warn({ id, err: error.message }, what);
    this.sendTo(ws, { type: "result", id, ok: false, error: error.message.slice(0, 2000) });
  }

  private sendToGateway(frame: BridgeFrame): void {
    if (this.gateway) this.sendTo(this.gateway, frame);
  }

  private sendTo(ws: WebSocket, frame: BridgeFrame): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(frame));
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data as ArrayBuffer).toString("utf8");
}
