// The WhatsApp bridge as seen from medbot: where its folders and socket are, the child process that runs it,
// and an authenticated WebSocket to it over that Unix socket. The token is sent only after the socket's
// folder and the socket proved to be our own (src/bridge-protocol/socket.ts). The gateway's adapter and
// `medbot channels login whatsapp` both use this, so the token, the folders and the checks are the same.
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import WebSocket from "ws";
import {
  type BridgeFrame,
  CLOSE_AUTH_FAILED,
  CLOSE_AUTH_TIMEOUT,
  encodeFrame,
  parseBridgeFrame,
} from "../bridge-protocol/protocol.js";
import {
  BridgeSocketError,
  bridgeSocketPath,
  inspectBridgeSocket,
  probeSocket,
} from "../bridge-protocol/socket.js";
import { PACKAGE_ROOT, packagePath } from "../package-root.js";
import { ensurePrivateDir } from "../storage/private-fs.js";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";

/** The bridge's launcher: it runs bridge/src/main.ts compiled in dist/, never through tsx's shared cache. */
export const BRIDGE_MAIN = packagePath("bin", "whatsapp-bridge.mjs");

/** Variables the bridge needs from our environment; API keys and other secrets stay with the gateway. */
const PASSED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "NODE_EXTRA_CA_CERTS"];
/** MEDBOT_BRIDGE_WA_URL points baileys at a local server instead of WhatsApp (tests). */
const PASSED_MEDBOT_ENV = ["MEDBOT_ALLOW_ROOT", "MEDBOT_LOG_LEVEL", "MEDBOT_DEBUG", "MEDBOT_BRIDGE_WA_URL"];

/** Waits while a freshly spawned bridge is not listening yet: from 100 ms, doubling, to a second. */
const BRIDGE_LISTEN_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 1000 };

export interface BridgeFolders {
  /** The linked WhatsApp session (keys): never inside the workspace the agent's file tools can read. */
  authDir: string;
  /** Where the bridge saves received documents and images. */
  mediaDir: string;
  /** The Unix socket the gateway and the bridge meet on. */
  socketPath: string;
}

/** The bridge's places for one instance: dataDir/whatsapp-auth, workspace/media/whatsapp, dataDir/run/whatsapp/bridge.sock. */
export function bridgeFolders(dataDir: string, workspace = path.join(dataDir, "workspace")): BridgeFolders {
  return {
    authDir: path.join(dataDir, "whatsapp-auth"),
    mediaDir: path.join(workspace, "media", "whatsapp"),
    socketPath: bridgeSocketPath(dataDir),
  };
}

export interface BridgeSpawnOptions extends BridgeFolders {
  token: string;
  /** Login mode: the bridge prints the QR code, and its output goes to our terminal. */
  login?: boolean;
}

/** How the bridge child ended. */
export interface BridgeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One bridge child process: started with its folders made private, stopped with SIGTERM (then SIGKILL). */
export class BridgeProcess {
  /** Settles when the child has exited, however it ended. */
  readonly exited: Promise<BridgeExit>;
  private exit: BridgeExit | undefined;
  private lastLine = "";

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once("error", (error) => {
        this.lastLine = error.message;
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
    // Kept only to explain an early exit; the bridge logs no message text.
    child.stderr?.on("data", (chunk: Buffer) => {
      const lines = chunk.toString("utf8").trim().split("\n");
      this.lastLine = (lines[lines.length - 1] ?? "").slice(0, 500);
    });
    child.stdout?.resume();
  }

  /** Starts `node bin/whatsapp-bridge.mjs` with the token, socket and folders in its environment. */
  static spawn(options: BridgeSpawnOptions): BridgeProcess {
    ensurePrivateDir(options.authDir);
    ensurePrivateDir(options.mediaDir);
    const env: NodeJS.ProcessEnv = {};
    for (const name of [...PASSED_ENV, ...PASSED_MEDBOT_ENV]) {
      if (process.env[name] !== undefined) env[name] = process.env[name];
    }
    Object.assign(env, {
      MEDBOT_BRIDGE_TOKEN: options.token,
      MEDBOT_BRIDGE_SOCKET: options.socketPath,
      MEDBOT_BRIDGE_PARENT_PID: String(process.pid),
      MEDBOT_BRIDGE_AUTH_DIR: options.authDir,
      MEDBOT_BRIDGE_MEDIA_DIR: options.mediaDir,
      ...(options.login ? { MEDBOT_BRIDGE_PRINT_QR: "1" } : {}),
    });
    const child = spawn(process.execPath, [BRIDGE_MAIN], {
      cwd: PACKAGE_ROOT,
      env,
      stdio: options.login ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    return new BridgeProcess(child);
  }

  /** Whether the child is still running. */
  get running(): boolean {
    return this.exit === undefined;
  }

  /** "exited with code 1: <its last line of output>", for error messages. */
  describeExit(): string {
    const how = this.exit?.signal
      ? `was killed by ${this.exit.signal}`
      : `exited with code ${this.exit?.code}`;
    return this.lastLine ? `${how}: ${this.lastLine}` : how;
  }

  /** Sends SIGTERM and waits for the exit; SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), graceMs);
    });
    if ((await Promise.race([this.exited, late])) === "late") {
      this.child.kill("SIGKILL");
      await this.exited;
    }
    clearTimeout(timer);
  }
}

/** Where `ready` and the frames after it go; set before auth, so frames queued right behind ready are not lost. */
export interface BridgeListener {
  onFrame(frame: BridgeFrame): void;
  /** A frame that is not of the protocol: reported, then ignored. */
  onBadFrame(error: Error): void;
  onClose(code: number): void;
}

export interface ConnectOptions {
  /** How long to keep trying while the bridge is not listening yet (a child just spawned). */
  retryForMs?: number;
  /** How long the bridge may take to answer auth with ready. */
  readyTimeoutMs?: number;
  /** Gives up early, e.g. when the child exited; returns the reason. */
  gaveUp?: () => string | undefined;
}

/** Why a new bridge could not listen on the socket (not ours, or a bridge already listens), or undefined. */
export async function whyBridgeSocketIsHeld(socketPath: string): Promise<string | undefined> {
  try {
    if (inspectBridgeSocket(socketPath) === "absent") return undefined;
  } catch (error) {
    if (error instanceof BridgeSocketError) return error.message;
    throw error;
  }
  if ((await probeSocket(socketPath)) !== "listening") return undefined;
  return `the WhatsApp bridge socket ${socketPath} is in use; if medbot gateway runs with WhatsApp, stop it first`;
}

/** The bridge's socket is not there yet, or nobody listens on it (a bridge still starting): worth retrying. */
class BridgeNotListening extends Error {
  override readonly name = "BridgeNotListening";
}

/**
 * Checks the socket's folders and the socket are our own, then opens the WebSocket over it, sends auth and
 * resolves on `ready` (also given to the listener). Retries while nothing listens yet; a socket that fails
 * the checks is refused at once, without connecting, so the token never reaches it.
 */
export async function connectBridge(
  socketPath: string,
  token: string,
  listener: BridgeListener,
  options: ConnectOptions = {},
): Promise<WebSocket> {
  const deadline = Date.now() + (options.retryForMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectOnce(socketPath, token, listener, options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      const reason = options.gaveUp?.();
      if (reason) throw new Error(reason);
      if (error instanceof BridgeSocketError) {
        throw new Error(`refusing the WhatsApp bridge socket, the token was not sent: ${error.message}`);
      }
      if (!(error instanceof BridgeNotListening) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, BRIDGE_LISTEN_BACKOFF)));
    }
  }
}

async function connectOnce(
  socketPath: string,
  token: string,
  listener: BridgeListener,
  readyTimeoutMs: number,
): Promise<WebSocket> {
  // Throws BridgeSocketError for a folder or socket that is not ours; only then is the token sent.
  if (inspectBridgeSocket(socketPath) === "absent") {
    throw new BridgeNotListening(`the WhatsApp bridge is not listening on ${socketPath}`);
  }
  return new Promise((resolve, reject) => {
    // The path goes to net.connect as is (a ws+unix: URL would need it percent-free and colon-free).
    const socket = new WebSocket("ws://whatsapp-bridge/", {
      handshakeTimeout: readyTimeoutMs,
      createConnection: () => net.connect({ path: socketPath }),
    });
    let ready = false;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.terminate();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new Error(`the WhatsApp bridge at ${socketPath} did not answer auth within ${readyTimeoutMs} ms`),
        ),
      readyTimeoutMs,
    );
    socket.once("open", () => socket.send(encodeFrame({ type: "auth", token })));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (ready) return;
      // A dead bridge's socket file: the new bridge removes it and listens soon.
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") {
        fail(new BridgeNotListening(`the WhatsApp bridge is not listening on ${socketPath} (${error.code})`));
      } else fail(error);
    });
    socket.on("close", (code) => {
      if (ready) listener.onClose(code);
      else fail(new Error(closeReason(code)));
    });
    socket.on("message", (data: Buffer) => {
      let frame: BridgeFrame;
      try {
        frame = parseBridgeFrame(data);
      } catch (error) {
        if (ready) return listener.onBadFrame(error as Error);
        return fail(error as Error);
      }
      if (ready) return listener.onFrame(frame);
      // Before ready nothing but ready is expected; anything else would be a bridge bug, so wait on.
      if (frame.type !== "ready") return;
      ready = true;
      clearTimeout(timer);
      listener.onFrame(frame);
      resolve(socket);
    });
  });
}

function closeReason(code: number): string {
  if (code === CLOSE_AUTH_FAILED) {
    return "the WhatsApp bridge refused the token (close 4003); channels.whatsapp.bridgeToken must match the bridge's";
  }
  if (code === CLOSE_AUTH_TIMEOUT)
    return "the WhatsApp bridge closed the connection: auth too late (close 4001)";
  return `the WhatsApp bridge closed the connection before ready (close ${code})`;
}
