// The WhatsApp Web session: one baileys socket at a time, its connection events as status frames, incoming
// messages as message frames, and a reconnect with exponential backoff and jitter. A logout or a session
// taken over elsewhere stops reconnecting: only the user can fix those, by linking the phone again.
// Inbound media is downloaded only on the gateway's request (download()), never on arrival.
import { readFile, stat } from "node:fs/promises";
import * as path from "node:path";
import {
  type AnyMessageContent,
  type AuthenticationState,
  type BaileysEventMap,
  DisconnectReason,
  downloadMediaMessage,
  makeCacheableSignalKeyStore,
  makeWASocket,
  type WAMessage,
} from "@whiskeysockets/baileys";
import type {
  ConnectionState,
  MessageFrame,
  SendFrame,
  StatusFrame,
} from "../../src/bridge-protocol/protocol.js";
import type { Logger } from "../../src/log.js";
import type { StoredAuthState } from "./auth-state.js";
import { toMessageFrame } from "./inbound.js";
import type { SavedMedia } from "./media.js";
import { type MediaFetcher, PendingMedia, type PendingMediaOptions } from "./pending-media.js";

/** Largest document we send (WhatsApp's own limit is higher; reports are small). */
export const MAX_DOCUMENT_BYTES = 100 * 1024 * 1024;

const RELINK = "run `medbot channels login whatsapp` to link the phone again";

/** The part of a baileys socket the session uses; tests pass a fake with an EventEmitter as `ev`. */
export interface WhatsAppSocket {
  ev: {
    on<E extends keyof BaileysEventMap>(event: E, listener: (arg: BaileysEventMap[E]) => void): void;
    removeAllListeners(event: keyof BaileysEventMap): void;
  };
  user?: { id: string; lid?: string | undefined } | undefined;
  sendMessage(jid: string, content: AnyMessageContent): Promise<unknown>;
  end(error: Error | undefined): void;
  signalRepository?: { lidMapping: { getPNForLID(lid: string): Promise<string | null> } };
  updateMediaMessage?(message: WAMessage): Promise<WAMessage>;
}

/** Builds a socket for the given auth state (baileys' makeWASocket unless a test injects one). */
export type SocketFactory = (auth: AuthenticationState, logger: Logger) => WhatsAppSocket;

/** Backoff between reconnects: the delay doubles from `initialMs` up to `maxMs`, each one jittered. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface SessionOptions {
  auth: StoredAuthState;
  mediaDir: string;
  logger: Logger;
  onStatus: (frame: StatusFrame) => void;
  onMessage: (frame: MessageFrame) => void;
  makeSocket?: SocketFactory;
  backoff?: Backoff;
  /** 0..1; injectable so a test can pin the jitter. */
  random?: () => number;
  downloadMedia?: MediaFetcher;
  /** Limits of the media waiting for download requests (tests shrink them). */
  pendingMedia?: Omit<PendingMediaOptions, "mediaDir">;
}

/** The socket factory used in production; `waWebSocketUrl` points baileys elsewhere (tests). */
export function baileysSocketFactory(waWebSocketUrl?: string): SocketFactory {
  return (auth, logger) => {
    const quiet = baileysLogger(logger);
    return makeWASocket({
      auth: { creds: auth.creds, keys: makeCacheableSignalKeyStore(auth.keys, quiet) },
      logger: quiet,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      ...(waWebSocketUrl ? { waWebSocketUrl } : {}),
    });
  };
}

/** Keeps one WhatsApp Web connection alive and translates its events into protocol frames. */
export class WhatsAppSession {
  private socket: WhatsAppSocket | undefined;
  private current: ConnectionState = "closed";
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  // Messages are translated one after another so LID lookups never reorder them.
  private inbound: Promise<void> = Promise.resolve();
  private readonly makeSocket: SocketFactory;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly pendingMedia: PendingMedia;

  constructor(private readonly options: SessionOptions) {
    this.makeSocket = options.makeSocket ?? baileysSocketFactory();
    this.backoff = options.backoff ?? { initialMs: 2_000, maxMs: 120_000 };
    this.random = options.random ?? Math.random;
    this.pendingMedia = new PendingMedia({ ...options.pendingMedia, mediaDir: options.mediaDir });
  }

  /** The connection state as the protocol names it. */
  state(): ConnectionState {
    return this.current;
  }

  /** Opens the connection; later drops are reconnected until stop() or a logout. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  /** Closes the socket and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropSocket();
    await this.inbound;
  }

  /** Sends a text or a document; rejects with a message the gateway can show when that fails. */
  async send(frame: SendFrame): Promise<void> {
    const socket = this.socket;
    if (!socket || this.current !== "open")
      throw new Error(`WhatsApp is not connected (state ${this.current})`);
    if (!/^[^@\s]+@(s\.whatsapp\.net|g\.us|lid)$/.test(frame.to))
      throw new Error(`not a WhatsApp chat id: ${frame.to}`);
    if (!frame.document) {
      await socket.sendMessage(frame.to, { text: frame.text });
      return;
    }
    const { path: file, filename, mimetype } = frame.document;
    if (!path.isAbsolute(file)) throw new Error(`document path is not absolute: ${file}`);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`document not found: ${file}`);
    if (info.size > MAX_DOCUMENT_BYTES)
      throw new Error(`document larger than ${MAX_DOCUMENT_BYTES} bytes: ${file}`);
    await socket.sendMessage(frame.to, {
      document: await readFile(file),
      fileName: filename,
      mimetype,
      ...(frame.text ? { caption: frame.text } : {}),
    });
  }

  /** Downloads the media of an announced message into the media folder; rejects naming why not. */
  download(messageId: string): Promise<SavedMedia> {
    // The socket current now, not the one the message came on: that one may be gone after a reconnect.
    const fetch = this.options.downloadMedia ?? defaultDownload(() => this.socket, this.options.logger);
    return this.pendingMedia.download(messageId, fetch);
  }

  private connect(): void {
    const { auth, logger } = this.options;
    this.setState({ type: "status", state: "connecting" });
    let socket: WhatsAppSocket;
    try {
      socket = this.makeSocket(auth.state, logger);
    } catch (error) {
      logger.error({ err: (error as Error).message }, "whatsapp socket could not be created");
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.ev.on("creds.update", () => {
      auth
        .saveCreds()
        .catch((error: Error) => logger.error({ err: error.message }, "whatsapp creds save failed"));
    });
    socket.ev.on("connection.update", (update) => {
      if (this.socket === socket) this.onConnectionUpdate(update);
    });
    socket.ev.on("messages.upsert", ({ messages, type }) => {
      if (this.socket !== socket || type !== "notify") return;
      for (const message of messages) this.inbound = this.inbound.then(() => this.translate(socket, message));
    });
  }

  private onConnectionUpdate(update: BaileysEventMap["connection.update"]): void {
    if (update.qr) this.setState({ type: "status", state: "qr", qr: update.qr });
    if (update.connection === "open") {
      this.attempt = 0;
      this.options.logger.info("whatsapp connected");
      this.setState({ type: "status", state: "open" });
    }
    if (update.connection !== "close") return;
    const code = statusCodeOf(update.lastDisconnect?.error);
    this.dropSocket();
    if (this.stopped) return;
    if (code === DisconnectReason.loggedOut) {
      this.stopped = true;
      this.options.logger.warn({ code }, "whatsapp logged this device out");
      // The keys are dead now; clearing them lets the login command start with a fresh QR code.
      this.options.auth
        .clear()
        .catch((error: Error) => this.options.logger.error({ err: error.message }, "clearing auth failed"));
      this.setState({
        type: "status",
        state: "logged_out",
        detail: `WhatsApp logged this device out; ${RELINK}`,
      });
      return;
    }
    if (code === DisconnectReason.connectionReplaced) {
      this.stopped = true;
      this.options.logger.warn({ code }, "whatsapp session replaced by another one");
      this.setState({
        type: "status",
        state: "replaced",
        detail: `another WhatsApp Web session for this account replaced this one; stop it, then ${RELINK}`,
      });
      return;
    }
    this.setState({
      type: "status",
      state: "closed",
      ...(code ? { detail: `connection closed (${code})` } : {}),
    });
    this.scheduleReconnect(code === DisconnectReason.restartRequired);
  }

  private scheduleReconnect(immediately = false): void {
    if (this.stopped) return;
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    // Half fixed, half random: bridges that dropped together do not all come back at the same moment.
    const delay = immediately ? 0 : Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
    this.attempt++;
    this.options.logger.info({ attempt: this.attempt, delayMs: delay }, "whatsapp reconnect scheduled");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    for (const event of ["connection.update", "messages.upsert", "creds.update"] as const) {
      socket.ev.removeAllListeners(event);
    }
    try {
      socket.end(undefined);
    } catch {
      // Already closed; nothing left to release.
    }
  }

  private async translate(socket: WhatsAppSocket, message: WAMessage): Promise<void> {
    try {
      const frame = await toMessageFrame(message, {
        me: socket.user,
        pnForLid: socket.signalRepository
          ? (lid) => socket.signalRepository!.lidMapping.getPNForLID(lid)
          : undefined,
        pendingMedia: this.pendingMedia,
        logger: this.options.logger,
      });
      if (frame) this.options.onMessage(frame);
    } catch (error) {
      this.options.logger.error(
        { messageId: message.key.id, err: (error as Error).message },
        "whatsapp message could not be translated",
      );
    }
  }

  private setState(frame: StatusFrame): void {
    this.current = frame.state;
    this.options.onStatus(frame);
  }
}

function defaultDownload(socket: () => WhatsAppSocket | undefined, logger: Logger): MediaFetcher {
  return (message) =>
    downloadMediaMessage(
      message,
      "buffer",
      {},
      {
        logger: baileysLogger(logger),
        // An expired media link is renewed by asking the sender's phone, through the live socket.
        reuploadRequest: (m) => socket()?.updateMediaMessage?.(m) ?? Promise.resolve(m),
      },
    );
}

/** baileys logs protocol nodes (which can carry message content) below error level: keep only errors. */
function baileysLogger(logger: Logger): Logger {
  // A child's level replaces its parent's, so a silent or fatal-only parent must stay that quiet.
  const level = logger.levelVal > 50 ? logger.level : "error";
  return logger.child({ module: "baileys" }, { level });
}

function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { output?: { statusCode?: unknown } } | undefined)?.output?.statusCode;
  return typeof code === "number" ? code : undefined;
}
