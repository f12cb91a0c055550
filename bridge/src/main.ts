// The bridge process: `node bin/whatsapp-bridge.mjs` (compiled, or `node --import tsx bridge/src/main.ts`), started by the gateway or by
// `medbot channels login whatsapp` (MEDBOT_BRIDGE_PRINT_QR=1). Settings come from the environment only,
// so the token never shows in a process listing. Logs go to stderr and never carry message text.
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import qrcode from "qrcode-terminal";
import { bridgeSocketPath } from "../../src/bridge-protocol/socket.js";
import { expandHome } from "../../src/config/paths.js";
import { createLogger, type Logger } from "../../src/log.js";
import { loadAuthState } from "./auth-state.js";
import { BridgeServer } from "./server.js";
import { baileysSocketFactory, WhatsAppSession } from "./session.js";

/** The bridge's settings, read from MEDBOT_BRIDGE_* variables. */
export interface BridgeSettings {
  token: string;
  /** The Unix socket the gateway connects to (default MEDBOT_HOME/run/whatsapp/bridge.sock). */
  socketPath: string;
  authDir: string;
  mediaDir: string;
  printQr: boolean;
  /** MEDBOT_BRIDGE_WA_URL: where baileys connects instead of WhatsApp (tests against a local server). */
  waWebSocketUrl?: string;
  /** MEDBOT_BRIDGE_PARENT_PID: the gateway that started us; when it is gone, so are we. */
  parentPid?: number;
}

/** How often a bridge started by a gateway checks that the gateway is still its parent. */
const PARENT_CHECK_MS = 1000;

/** Reads the settings; throws naming the variable at fault (missing token, relative path, running as root). */
export function settingsFromEnv(env: NodeJS.ProcessEnv, uid = process.getuid?.()): BridgeSettings {
  const token = env.MEDBOT_BRIDGE_TOKEN?.trim() ?? "";
  if (!token) {
    throw new Error(
      "MEDBOT_BRIDGE_TOKEN is not set; it must equal channels.whatsapp.bridgeToken in config.json",
    );
  }
  if (uid === 0 && env.MEDBOT_ALLOW_ROOT !== "1") {
    throw new Error(
      "refusing to run the WhatsApp bridge as root; run it as your user (or set MEDBOT_ALLOW_ROOT=1)",
    );
  }
  const home = env.MEDBOT_HOME?.trim()
    ? path.resolve(expandHome(env.MEDBOT_HOME.trim()))
    : path.join(os.homedir(), ".medbot");
  const dir = (value: string | undefined, fallback: string) =>
    value?.trim() ? path.resolve(expandHome(value.trim())) : path.join(home, fallback);
  const socketPath = env.MEDBOT_BRIDGE_SOCKET?.trim() || bridgeSocketPath(home);
  if (!path.isAbsolute(socketPath)) {
    throw new Error(`MEDBOT_BRIDGE_SOCKET must be an absolute path, not ${JSON.stringify(socketPath)}`);
  }
  const parentText = env.MEDBOT_BRIDGE_PARENT_PID?.trim();
  const parentPid = parentText ? Number(parentText) : undefined;
  if (parentPid !== undefined && !(Number.isInteger(parentPid) && parentPid > 1)) {
    throw new Error(`MEDBOT_BRIDGE_PARENT_PID must be a process id, not ${JSON.stringify(parentText)}`);
  }
  return {
    token,
    socketPath,
    authDir: dir(env.MEDBOT_BRIDGE_AUTH_DIR, "whatsapp-auth"),
    // Where the gateway looks for received files (its default workspace), also for a bridge started alone.
    mediaDir: dir(env.MEDBOT_BRIDGE_MEDIA_DIR, path.join("workspace", "media", "whatsapp")),
    printQr: env.MEDBOT_BRIDGE_PRINT_QR === "1",
    ...(env.MEDBOT_BRIDGE_WA_URL?.trim() ? { waWebSocketUrl: env.MEDBOT_BRIDGE_WA_URL.trim() } : {}),
    ...(parentPid !== undefined ? { parentPid } : {}),
  };
}

/** Starts the server and the session; resolves to a function that stops both. */
export async function runBridge(settings: BridgeSettings, logger: Logger): Promise<() => Promise<void>> {
  const auth = await loadAuthState(settings.authDir, { logger });
  let server: BridgeServer | undefined;
  const session = new WhatsAppSession({
    auth,
    mediaDir: settings.mediaDir,
    logger,
    makeSocket: baileysSocketFactory(settings.waWebSocketUrl),
    onStatus: (frame) => {
      logger.info({ state: frame.state, detail: frame.detail }, "whatsapp state");
      if (frame.qr && settings.printQr) {
        process.stderr.write("Scan this code in WhatsApp: Settings > Linked devices > Link a device\n");
        qrcode.generate(frame.qr, { small: true }, (code) => process.stderr.write(`${code}\n`));
      }
      server?.publishStatus(frame);
    },
    onMessage: (frame) => {
      logger.debug({ messageId: frame.messageId, isGroup: frame.isGroup }, "whatsapp message");
      server?.publishMessage(frame);
    },
  });
  server = new BridgeServer({ token: settings.token, socketPath: settings.socketPath, session, logger });
  await server.listen();
  logger.info({ socketPath: settings.socketPath, authDir: settings.authDir }, "whatsapp bridge listening");
  session.start();
  return async () => {
    await session.stop();
    await server.close();
  };
}

async function main(): Promise<void> {
  const logger = createLogger();
  let settings: BridgeSettings;
  try {
    settings = settingsFromEnv(process.env);
  } catch (error) {
    process.stderr.write(`medbot whatsapp bridge: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const stop = await runBridge(settings, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "whatsapp bridge stopping");
    stop().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error({ err: error.message }, "whatsapp bridge did not stop cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // A gateway killed with SIGKILL cannot stop us; an orphan would keep the socket from its next bridge.
  const { parentPid } = settings;
  if (parentPid !== undefined) {
    setInterval(() => {
      if (process.ppid !== parentPid) shutdown("gateway gone");
    }, PARENT_CHECK_MS).unref();
  }
}

/** Runs the bridge as this process; bin/whatsapp-bridge.mjs calls it from the compiled build. */
export function startBridge(): void {
  main().catch((error: Error) => {
    process.stderr.write(`medbot whatsapp bridge failed: ${error.message}\n`);
    process.exit(1);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) startBridge();
