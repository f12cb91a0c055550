// WhatsApp through our bridge (bridge/, baileys): the bridge holds the WhatsApp Web session and talks to us
// over a WebSocket on a Unix socket in a private folder of the data folder, with a token we send only after
// checking that socket is our own. An inbound message is acknowledged to the bridge only after
// context.deliver resolved, so the bridge re-sends it to the next connection if we crash before the inbox
// committed. A file that came with a message is downloaded only after the access gate let its sender in
// (context.mayInteract), through a `download` request. When the gateway manages the bridge, it runs as our child: it dies with us and a restart of
// a failed channel starts a fresh one.
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import type WebSocket from "ws";
import { fileUnderSender } from "../access/received-files.js";
import type {
  BridgeFrame,
  ConnectionState,
  GatewayFrame,
  MessageFrame,
  ResultFrame,
  SavedFile,
} from "../bridge-protocol/protocol.js";
import { encodeFrame } from "../bridge-protocol/protocol.js";
import type { MedbotConfig } from "../config/schema.js";
import { createLogger, type Logger } from "../log.js";
import { backoffDelay, sleep } from "./backoff.js";
import { ChannelLifecycle } from "./lifecycle.js";
import type {
  ChannelAdapter,
  ChannelCapabilities,
  ChannelContext,
  ChannelState,
  InboundMessage,
  OutboundMessage,
} from "./types.js";
import {
  type BridgeFolders,
  BridgeProcess,
  bridgeFolders,
  connectBridge,
} from "./whatsapp-bridge-process.js";
import { markdownToWhatsApp, mimeType, withSavedMediaNote, withUnsavedMediaNote } from "./whatsapp-format.js";

export type WhatsAppConfig = MedbotConfig["channels"]["whatsapp"];

/** Tuning for tests; the defaults suit a bridge on this machine. */
export interface WhatsAppTiming {
  /** How long a freshly spawned bridge may take to listen. */
  spawnConnectMs?: number;
  /** How long the bridge may take to answer auth. */
  readyTimeoutMs?: number;
  /** How long a send or a media download may wait for its result (a document can be slow). */
  sendTimeoutMs?: number;
  /** First wait before delivering again after the inbox failed; doubles per try. */
  deliverBackoffMs?: number;
}

export interface WhatsAppOptions {
  /** The instance folder (~/.medbot): the linked session lives in dataDir/whatsapp-auth. */
  dataDir: string;
  /** The workspace (default dataDir/workspace): received files go to workspace/media/whatsapp. */
  workspace?: string;
  /** Spawn the bridge as a child (default); false when it runs on its own. */
  manageBridge?: boolean;
  timing?: WhatsAppTiming;
  logger?: Logger;
}

/** Message ids remembered to skip the bridge re-sending what is already stored (it keeps up to 1,000). */
const REMEMBERED_IDS = 2000;
const MAX_DELIVER_BACKOFF_MS = 30_000;
/** WhatsApp's longest caption shown in full; a longer text goes as its own message before the document. */
const MAX_CAPTION = 1024;
/** States in which WhatsApp will not reconnect by itself: only a new login helps. */
const UNLINKED: ReadonlySet<ConnectionState> = new Set(["logged_out", "replaced"]);
const LOGIN_HINT =
  "stop medbot gateway, run `medbot channels login whatsapp` to link WhatsApp again, then start the gateway";

type Answer = Extract<ResultFrame, { ok: true }>;

interface PendingRequest {
  resolve(answer: Answer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** The bridge answered a request with ok:false (as opposed to no answer at all). */
class BridgeRefusal extends Error {
  override readonly name = "BridgeRefusal";
}

export class WhatsAppAdapter implements ChannelAdapter {
  readonly name = "whatsapp" as const;
  /** WhatsApp's text limit for bots (Cloud API); rendering never lengthens Markdown, so chunks still fit. */
  readonly capabilities: ChannelCapabilities = { maxTextLength: 4096, documents: true };
  private readonly folders: BridgeFolders;
  private readonly workspace: string;
  private readonly timing: Required<WhatsAppTiming>;
  private readonly log: Logger;
  private bridge: BridgeProcess | undefined;
  private socket: WebSocket | undefined;
  private whatsapp: ConnectionState = "closed";
  /** State, and the signal stop() aborts. */
  private readonly life = new ChannelLifecycle();
  private context: ChannelContext | undefined;
  private inbound: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, PendingRequest>();
  /** Ids delivered, oldest first; inbound frames are handled one at a time, so a repeat always finds its id here. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly config: WhatsAppConfig,
    private readonly options: WhatsAppOptions,
  ) {
    if (!config.bridgeToken) {
      throw new Error("channels.whatsapp.bridgeToken is empty; run medbot onboard to generate it");
    }
    this.workspace = options.workspace ?? path.join(options.dataDir, "workspace");
    this.folders = bridgeFolders(options.dataDir, this.workspace);
    this.timing = {
      spawnConnectMs: 20_000,
      readyTimeoutMs: 10_000,
      sendTimeoutMs: 60_000,
      deliverBackoffMs: 1000,
      ...options.timing,
    };
    this.log = options.logger ?? createLogger();
    if (config.bridgeUrl !== undefined) {
      this.log.info(
        { channel: "whatsapp", socketPath: this.folders.socketPath },
        "channels.whatsapp.bridgeUrl is ignored: the gateway reaches the bridge on its Unix socket",
      );
    }
  }

  /** "running" only while the bridge is connected and WhatsApp itself is open. */
  state(): ChannelState {
    const state = this.life.state();
    return state === "running" && this.whatsapp !== "open" ? "starting" : state;
  }

  /** Why the channel stopped for good: WhatsApp logged medbot out, or another session replaced it. */
  problem(): string | undefined {
    return this.life.problem();
  }

  /** Starts the bridge (when managed), authenticates and resolves on ready; rejects if it cannot. */
  async start(context: ChannelContext): Promise<void> {
    this.whatsapp = "closed";
    this.context = context;
    const stopped = this.life.begin();
    context.signal.addEventListener("abort", () => void this.stop(), { once: true, signal: stopped });
    // Frames the bridge queued right behind ready wait until the socket is ours to ack on.
    let linked: () => void = () => undefined;
    this.inbound = new Promise((resolve) => {
      linked = resolve;
    });
    try {
      const bridge = this.options.manageBridge === false ? undefined : this.spawnBridge();
      const socket = await connectBridge(
        this.folders.socketPath,
        this.config.bridgeToken,
        {
          onFrame: (frame) => this.onFrame(frame),
          onBadFrame: (error) =>
            this.log.warn({ channel: "whatsapp", error: error.message }, "bad bridge frame"),
          onClose: (code) => this.onDisconnect(`the bridge connection closed (code ${code})`),
        },
        {
          retryForMs: bridge ? this.timing.spawnConnectMs : 0,
          readyTimeoutMs: this.timing.readyTimeoutMs,
          gaveUp: () =>
            bridge && !bridge.running ? `the WhatsApp bridge ${bridge.describeExit()}` : undefined,
        },
      );
      if (stopped.aborted) {
        socket.close();
        linked();
        return;
      }
      this.socket = socket;
      // Logged out (in ready or a status right after), or the connection already lost: not started.
      if (this.state() === "failed") {
        throw new Error(
          UNLINKED.has(this.whatsapp)
            ? `the bridge reports WhatsApp ${this.whatsapp}; ${LOGIN_HINT}`
            : "the bridge connection closed",
        );
      }
      this.life.mark("running");
      linked();
    } catch (error) {
      linked();
      this.closeSocket();
      await this.bridge?.stop();
      this.bridge = undefined;
      this.life.fail();
      throw new Error(`WhatsApp: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Closes the bridge connection, stops the bridge child and waits for it to exit. */
  async stop(): Promise<void> {
    const stopped = this.life.stop();
    this.closeSocket();
    this.failPending("the WhatsApp channel stopped");
    await this.bridge?.stop();
    this.bridge = undefined;
    await stopped;
  }

  /** Sends Markdown rendered for WhatsApp, then the document; resolves when the bridge reports it sent. */
  async send(message: OutboundMessage): Promise<void> {
    const text = markdownToWhatsApp(message.text).trim();
    const document = message.document;
    if (document && text.length <= MAX_CAPTION) {
      await this.request({ to: message.chatId, text, document: this.attachment(document) });
      return;
    }
    if (text) await this.request({ to: message.chatId, text });
    if (document) await this.request({ to: message.chatId, text: "", document: this.attachment(document) });
  }

  private spawnBridge(): BridgeProcess {
    const bridge = BridgeProcess.spawn({ ...this.folders, token: this.config.bridgeToken });
    this.bridge = bridge;
    void bridge.exited.then(() => {
      if (this.bridge === bridge && this.life.state() !== "stopped") {
        this.onDisconnect(`the WhatsApp bridge ${bridge.describeExit()}`);
      }
    });
    return bridge;
  }

  private attachment(document: NonNullable<OutboundMessage["document"]>): SavedFile {
    return {
      path: path.resolve(document.path),
      filename: document.filename,
      mimetype: mimeType(document.filename),
    };
  }

  private async request(frame: { to: string; text: string; document?: SavedFile }): Promise<void> {
    if (this.life.state() === "running" && this.whatsapp !== "open") {
      throw new Error(`WhatsApp is not connected (${this.whatsapp})`);
    }
    try {
      await this.ask((id) => ({ type: "send", id, ...frame }));
    } catch (error) {
      if (error instanceof BridgeRefusal)
        throw new Error(`WhatsApp did not take the message: ${error.message}`);
      throw error;
    }
  }

  /** Sends a request frame under a fresh id; resolves with the bridge's ok result, rejects otherwise. */
  private ask(frame: (id: string) => GatewayFrame): Promise<Answer> {
    if (!this.socket || this.life.state() !== "running") {
      return Promise.reject(new Error("WhatsApp bridge is not connected"));
    }
    const id = randomUUID();
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`WhatsApp bridge gave no result within ${this.timing.sendTimeoutMs} ms`));
      }, this.timing.sendTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.sendFrame(frame(id));
    });
  }

  private sendFrame(frame: GatewayFrame): void {
    this.socket?.send(encodeFrame(frame));
  }

  private onFrame(frame: BridgeFrame): void {
    if (frame.type === "ready") this.noteWhatsApp(frame.state);
    else if (frame.type === "status") this.noteWhatsApp(frame.state, frame.detail);
    else if (frame.type === "result") this.settle(frame);
    else if (frame.type === "message") {
      // One at a time, in the bridge's order, so each chat's messages reach the inbox in order.
      this.inbound = this.inbound.then(() => this.receive(frame));
    }
  }

  private noteWhatsApp(state: ConnectionState, detail?: string): void {
    const was = this.whatsapp;
    this.whatsapp = state;
    if (state === was) return;
    if (UNLINKED.has(state)) {
      const why =
        state === "logged_out"
          ? "WhatsApp logged medbot out"
          : "another WhatsApp Web session replaced medbot's";
      this.log.error({ channel: "whatsapp", state, detail }, `${why}; ${LOGIN_HINT}`);
      // Restarting cannot link WhatsApp again: the gateway stops restarting and /healthz names the problem.
      this.life.fail(`${why}; ${LOGIN_HINT}`);
    } else if (state === "qr") {
      this.log.warn({ channel: "whatsapp" }, "WhatsApp is not linked; run `medbot channels login whatsapp`");
    } else {
      this.log.info({ channel: "whatsapp", state }, "WhatsApp connection state");
    }
  }

  private settle(frame: ResultFrame): void {
    const pending = this.pending.get(frame.id);
    if (!pending) return;
    this.pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.ok) pending.resolve(frame);
    else pending.reject(new BridgeRefusal(frame.error));
  }

  private onDisconnect(reason: string): void {
    if (this.life.stopSignal.aborted) return;
    this.log.warn({ channel: "whatsapp", reason }, "WhatsApp bridge lost; the gateway restarts the channel");
    this.closeSocket();
    this.life.fail();
    this.failPending(reason);
  }

  /** Closes our bridge connection without hearing from it again. */
  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    socket.removeAllListeners();
    socket.on("error", () => undefined);
    socket.close();
  }

  private failPending(reason: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(reason));
      this.pending.delete(id);
    }
  }

  private async receive(frame: MessageFrame): Promise<void> {
    const context = this.context;
    if (!context || this.life.stopSignal.aborted) return;
    if (this.seen.has(frame.messageId)) {
      this.sendFrame({ type: "ack", messageId: frame.messageId });
      return;
    }
    const signal = this.life.stopSignal;
    const inbound = this.toInbound(frame);
    // The gate first: for a sender who may not interact, nothing is downloaded, not even asked for.
    if (frame.mediaPending && context.mayInteract(inbound)) {
      const text = await this.withMedia(inbound, frame.mediaPending);
      // The connection went while downloading: the bridge hands this message to the next one.
      if (text === undefined) return;
      inbound.text = text;
    }
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await context.deliver(inbound);
        break;
      } catch (error) {
        // Not acknowledged: retry here, since the bridge re-sends only to a new connection.
        this.log.warn({ channel: "whatsapp", error: String(error) }, "inbox did not take a WhatsApp message");
        const policy = { baseMs: this.timing.deliverBackoffMs, maxMs: MAX_DELIVER_BACKOFF_MS };
        await sleep(backoffDelay(attempt, policy), signal);
      }
    }
    if (signal.aborted) return;
    this.remember(frame.messageId);
    this.sendFrame({ type: "ack", messageId: frame.messageId });
  }

  /**
   * The text with a note on the downloaded file, kept in its sender's own folder (media/whatsapp/<sender>/),
   * or why it was not saved; undefined if the bridge went.
   */
  private async withMedia(
    { text, messageId, senderId }: InboundMessage,
    media: NonNullable<MessageFrame["mediaPending"]>,
  ): Promise<string | undefined> {
    const socket = this.socket;
    try {
      const answer = await this.ask((id) => ({ type: "download", id, messageId }));
      if (!answer.media) return withUnsavedMediaNote(text, media, "the bridge returned no file");
      const saved = fileUnderSender(this.workspace, "whatsapp", senderId, answer.media.path);
      return withSavedMediaNote(text, { ...answer.media, path: saved }, this.workspace);
    } catch (error) {
      if (this.socket !== socket || this.life.stopSignal.aborted) return undefined;
      const reason = error instanceof Error ? error.message : String(error);
      this.log.warn({ channel: "whatsapp", messageId, reason }, "WhatsApp media not saved");
      return withUnsavedMediaNote(text, media, reason);
    }
  }

  private remember(messageId: string): void {
    this.seen.add(messageId);
    if (this.seen.size > REMEMBERED_IDS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private toInbound(frame: MessageFrame): InboundMessage {
    return {
      channel: "whatsapp",
      account: "whatsapp",
      chatId: frame.chatJid,
      // A sender whose number the bridge could not learn is known by jid; only allowFrom "*" lets it in.
      senderId: frame.senderNumber ?? frame.senderJid,
      messageId: frame.messageId,
      text: frame.text,
      isGroup: frame.isGroup,
      mentioned: frame.mentioned,
      ...(frame.pushName ? { senderName: frame.pushName } : {}),
      receivedAt: new Date(frame.timestamp * 1000).toISOString(),
    };
  }
}
