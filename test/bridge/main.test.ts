// The bridge process end to end: settings from the environment, the real baileys socket pointed at a local
// WebSocket that always hangs up (so the real reconnect path runs and nothing leaves the machine), its Unix
// socket (a second bridge is refused, a killed one's socket is cleared), and a clean exit on SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { loadAuthState } from "../../bridge/src/auth-state.js";
import { settingsFromEnv } from "../../bridge/src/main.js";
import { baileysSocketFactory, WhatsAppSession } from "../../bridge/src/session.js";
import { type BridgeFrame, parseBridgeFrame, type StatusFrame } from "../../src/bridge-protocol/protocol.js";
import { bridgeSocketPath, probeSocket } from "../../src/bridge-protocol/socket.js";
import { silentLogger } from "../../src/log.js";

const BRIDGE_MAIN = path.resolve(import.meta.dirname, "../../bridge/src/main.ts");

/** A stand-in for web.whatsapp.com that accepts each WebSocket and closes it straight away. */
async function hangingUpWhatsApp(): Promise<{
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  let count = 0;
  wss.on("connection", (ws) => {
    count++;
    ws.close(1000);
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/ws/chat`,
    connections: () => count,
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("bridge settings", () => {
  const base = { MEDBOT_BRIDGE_TOKEN: "tok", MEDBOT_HOME: "/srv/medbot" };

  it("refuses to start without a token, naming the variable", () => {
    expect(() => settingsFromEnv({}, 1000)).toThrow(/MEDBOT_BRIDGE_TOKEN/);
    expect(() => settingsFromEnv({ MEDBOT_BRIDGE_TOKEN: "  " }, 1000)).toThrow(/MEDBOT_BRIDGE_TOKEN/);
  });

  it("refuses to run as root unless MEDBOT_ALLOW_ROOT=1", () => {
    expect(() => settingsFromEnv(base, 0)).toThrow(/as root/);
    expect(settingsFromEnv({ ...base, MEDBOT_ALLOW_ROOT: "1" }, 0).token).toBe("tok");
  });

  it("defaults the socket and folders under MEDBOT_HOME, and takes overrides", () => {
    expect(settingsFromEnv(base, 1000)).toEqual({
      token: "tok",
      socketPath: "/srv/medbot/run/whatsapp/bridge.sock",
      authDir: "/srv/medbot/whatsapp-auth",
      mediaDir: "/srv/medbot/workspace/media/whatsapp",
      printQr: false,
    });
    const custom = settingsFromEnv(
      {
        ...base,
        MEDBOT_BRIDGE_SOCKET: "/run/user/1000/medbot/bridge.sock",
        MEDBOT_BRIDGE_AUTH_DIR: "/a",
        MEDBOT_BRIDGE_MEDIA_DIR: "/m",
        MEDBOT_BRIDGE_PRINT_QR: "1",
      },
      1000,
    );
    expect(custom).toMatchObject({
      socketPath: "/run/user/1000/medbot/bridge.sock",
      authDir: "/a",
      mediaDir: "/m",
      printQr: true,
    });
  });

  it("takes the pid of the gateway that started it, and refuses one that is not a pid", () => {
    expect(settingsFromEnv({ ...base, MEDBOT_BRIDGE_PARENT_PID: "4242" }, 1000).parentPid).toBe(4242);
    for (const pid of ["0", "1", "abc", "-5"]) {
      expect(() => settingsFromEnv({ ...base, MEDBOT_BRIDGE_PARENT_PID: pid }, 1000)).toThrow(
        /MEDBOT_BRIDGE_PARENT_PID must be a process id/,
      );
    }
  });

  it("refuses a relative socket path, naming the variable", () => {
    expect(() => settingsFromEnv({ ...base, MEDBOT_BRIDGE_SOCKET: "bridge.sock" }, 1000)).toThrow(
      /MEDBOT_BRIDGE_SOCKET must be an absolute path/,
    );
  });
});

describe("bridge with the real baileys socket", () => {
  let root: string;
  let whatsapp: Awaited<ReturnType<typeof hangingUpWhatsApp>>;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-wa-main-"));
    whatsapp = await hangingUpWhatsApp();
  });
  afterEach(async () => {
    await whatsapp.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("reconnects with backoff when WhatsApp hangs up", async () => {
    const auth = await loadAuthState(path.join(root, "auth"), { logger: silentLogger() });
    const statuses: StatusFrame[] = [];
    const session = new WhatsAppSession({
      auth,
      mediaDir: path.join(root, "media"),
      logger: silentLogger(),
      onStatus: (frame) => statuses.push(frame),
      onMessage: () => {},
      makeSocket: baileysSocketFactory(whatsapp.url),
      backoff: { initialMs: 30, maxMs: 200 },
    });
    session.start();
    try {
      await until(() => whatsapp.connections() >= 3, "three connection attempts");
      expect(statuses.filter((s) => s.state === "closed").length).toBeGreaterThanOrEqual(2);
      expect(statuses.some((s) => s.state === "logged_out" || s.state === "replaced")).toBe(false);
    } finally {
      await session.stop();
    }
    const attempts = whatsapp.connections();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(whatsapp.connections()).toBe(attempts);
  });

  /** The environment a bridge over the data folder `root` is started with (no MEDBOT_ variable of ours). */
  function bridgeEnv(): NodeJS.ProcessEnv {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MEDBOT_")));
    return {
      ...env,
      MEDBOT_HOME: root,
      MEDBOT_BRIDGE_TOKEN: "process-token-123",
      MEDBOT_BRIDGE_WA_URL: whatsapp.url,
      MEDBOT_ALLOW_ROOT: "1",
    };
  }

  /** `node bridge/src/main.ts` over the data folder `root`; stderr collected. */
  function spawnBridge(): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, ["--import", "tsx", BRIDGE_MAIN], {
      env: bridgeEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, stderr: () => stderr, exited };
  }

  it("runs as a process on its socket: answers a gateway with ready, and exits 0 on SIGTERM", async () => {
    const socketPath = bridgeSocketPath(root);
    const { child, stderr, exited } = spawnBridge();
    try {
      await until(() => stderr().includes("listening"), "the bridge to listen");
      expect(fs.lstatSync(socketPath).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700);
      const frames: BridgeFrame[] = [];
      const ws = new WebSocket("ws://whatsapp-bridge/", { createConnection: () => net.connect(socketPath) });
      ws.on("message", (data) => frames.push(parseBridgeFrame(data.toString())));
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      ws.send(JSON.stringify({ type: "auth", token: "process-token-123" }));
      await until(() => frames.length > 0, "the ready frame");
      expect(frames[0]?.type).toBe("ready");
      await until(() => whatsapp.connections() >= 1, "a WhatsApp connection attempt");
      expect(fs.statSync(path.join(root, "whatsapp-auth")).mode & 0o777).toBe(0o700);
      ws.close();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr()).not.toContain("process-token-123");
      expect(fs.existsSync(socketPath)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("stops, taking its socket with it, when the gateway that started it is killed", async () => {
    const socketPath = bridgeSocketPath(root);
    // A stand-in gateway (a shell) starts the bridge as its child and is then killed with SIGKILL.
    const gateway = spawn(
      "/bin/sh",
      [
        "-c",
        `MEDBOT_BRIDGE_PARENT_PID=$$ "${process.execPath}" --import tsx "${BRIDGE_MAIN}" & echo $!; wait`,
      ],
      { env: bridgeEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    gateway.stdout.on("data", (data: Buffer) => {
      stdout += data.toString();
    });
    gateway.stderr.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    let bridgePid = 0;
    try {
      await until(() => stderr.includes("listening"), "the bridge to listen");
      bridgePid = Number(stdout.trim());
      expect(await probeSocket(socketPath)).toBe("listening");
      gateway.kill("SIGKILL");
      await until(() => !fs.existsSync(socketPath), "the orphaned bridge to stop", 10_000);
      await until(() => !isAlive(bridgePid), "the orphaned bridge to exit", 10_000);
      expect(stderr).toContain("gateway gone");
    } finally {
      gateway.kill("SIGKILL");
      if (bridgePid && isAlive(bridgePid)) process.kill(bridgePid, "SIGKILL");
    }
  });

  it("refuses to start beside a running bridge, and clears the socket of a killed one", async () => {
    const socketPath = bridgeSocketPath(root);
    const first = spawnBridge();
    try {
      await until(() => first.stderr().includes("listening"), "the first bridge to listen");
      const second = spawnBridge();
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toContain(`another process already listens on ${socketPath}`);
      expect(await probeSocket(socketPath)).toBe("listening");

      // Killed without a chance to clean up, the first bridge leaves its socket file behind.
      first.child.kill("SIGKILL");
      await first.exited;
      expect(await probeSocket(socketPath)).toBe("stale");
      const third = spawnBridge();
      try {
        await until(() => third.stderr().includes("listening"), "the third bridge to listen");
        expect(third.stderr()).toContain("removed the socket a stopped bridge left behind");
        expect(await probeSocket(socketPath)).toBe("listening");
      } finally {
        third.child.kill("SIGTERM");
        await third.exited;
      }
    } finally {
      first.child.kill("SIGKILL");
    }
  });
});
