// The WhatsApp bridge as seen from medbot: where its folders are, the child process that runs it, and an
// authenticated WebSocket to it. The gateway's adapter and `medbot channels login whatsapp` both use this,
// so the token, the folders and the loopback rule are the same for both.
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import WebSocket from "ws";
import {
  type BridgeFrame,
  CLOSE_AUTH_FAILED,
  CLOSE_AUTH_TIMEOUT,
  encodeFrame,
  parseBridgeFrame,
} from "../../bridge/src/protocol.js";
import { PACKAGE_ROOT, packagePath } from "../package-root.js";
import { ensurePrivateDir } from "../storage/private-fs.js";

/** The bridge's entry point, run with the root's tsx. */
export const BRIDGE_MAIN = packagePath("bridge", "src", "main.ts");

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** Variables the bridge needs from our environment; API keys and other secrets stay with the gateway. */
const PASSED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "NODE_EXTRA_CA_CERTS"];
/** MEDBOT_BRIDGE_WA_URL points baileys at a local server instead of WhatsApp (tests). */
const PASSED_MEDBOT_ENV = ["MEDBOT_ALLOW_ROOT", "MEDBOT_LOG_LEVEL", "MEDBOT_DEBUG", "MEDBOT_BRIDGE_WA_URL"];

export interface BridgeFolders {
  /** The linked WhatsApp session (keys): never inside the workspace the agent's file tools can read. */
  authDir: string;
  /** Where the bridge saves received documents and images. */
  mediaDir: string;
}

/** The bridge's folders for one instance: dataDir/whatsapp-auth and workspace/media/whatsapp. */
export function bridgeFolders(dataDir: string, workspace = path.join(dataDir, "workspace")): BridgeFolders {
  return {
    authDir: path.join(dataDir, "whatsapp-auth"),
    mediaDir: path.join(workspace, "media", "whatsapp"),
  };
}

/** The bridge's port from channels.whatsapp.bridgeUrl; throws unless it is ws:// on a loopback address. */
export function bridgePort(bridgeUrl: string): number {
  const url = URL.canParse(bridgeUrl) ? new URL(bridgeUrl) : undefined;
  if (url?.protocol !== "ws:" || !LOOPBACK.has(url.hostname)) {
    throw new Error(
      `channels.whatsapp.bridgeUrl is "${bridgeUrl}"; it must be ws:// on 127.0.0.1, localhost or [::1] (e.g. ws://127.0.0.1:3001), since the bridge holds your WhatsApp session`,
    );
  }
  return Number(url.port || 80);
}

export interface BridgeSpawnOptions extends BridgeFolders {
  token: string;
  port: number;
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

  /** Starts `node --import tsx bridge/src/main.ts` with the token, port and folders in its environment. */
  static spawn(options: BridgeSpawnOptions): BridgeProcess {
    ensurePrivateDir(options.authDir);
    ensurePrivateDir(options.mediaDir);
    const env: NodeJS.ProcessEnv = {};
    for (const name of [...PASSED_ENV, ...PASSED_MEDBOT_ENV]) {
      if (process.env[name] !== undefined) env[name] = process.env[name];
    }
    Object.assign(env, {
      MEDBOT_BRIDGE_TOKEN: options.token,
      MEDBOT_BRIDGE_PORT: String(options.port),
      MEDBOT_BRIDGE_AUTH_DIR: options.authDir,
      MEDBOT_BRIDGE_MEDIA_DIR: options.mediaDir,
      ...(options.login ? { MEDBOT_BRIDGE_PRINT_QR: "1" } : {}),
    });
    const child = spawn(process.execPath, ["--import", "tsx", BRIDGE_MAIN], {
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

/** Opens the WebSocket, sends auth and resolves on `ready` (also given to the listener); retries refused connections. */
export async function connectBridge(
  url: string,
  token: string,
  listener: BridgeListener,
  options: ConnectOptions = {},
): Promise<WebSocket> {
  const deadline = Date.now() + (options.retryForMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectOnce(url, token, listener, options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      const reason = options.gaveUp?.();
      if (reason) throw new Error(reason);
      const refused = (error as NodeJS.ErrnoException).code === "ECONNREFUSED";
      if (!refused || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 1000)));
    }
  }
}

function connectOnce(
  url: string,
  token: string,
  listener: BridgeListener,
  readyTimeoutMs: number,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: readyTimeoutMs });
    let ready = false;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.terminate();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`the WhatsApp bridge at ${url} did not answer auth within ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    socket.once("open", () => socket.send(encodeFrame({ type: "auth", token })));
    socket.on("error", (error) => {
      if (!ready) fail(error);
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
