// The bridge's WebSocket door: a Unix socket only our user can reach, claimed only when nothing else holds
// it; only a token-holding gateway gets in, browsers never, and inbound messages survive a gateway that
// disconnects before acking them.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ClientOptions, WebSocket } from "ws";
import type { SavedMedia } from "../../bridge/src/media.js";
import { BridgeServer, type SessionPort } from "../../bridge/src/server.js";
import {
  type BridgeFrame,
  CLOSE_AUTH_FAILED,
  CLOSE_AUTH_TIMEOUT,
  CLOSE_REPLACED,
  type ConnectionState,
  type MessageFrame,
  parseBridgeFrame,
  type SendFrame,
} from "../../src/bridge-protocol/protocol.js";
import { bridgeSocketPath } from "../../src/bridge-protocol/socket.js";
import { silentLogger } from "../../src/log.js";

const TOKEN = "correct horse battery staple";

class FakeSession implements SessionPort {
  current: ConnectionState = "open";
  sent: SendFrame[] = [];
  failWith: string | undefined;
  downloads: string[] = [];
  state(): ConnectionState {
    return this.current;
  }
  async download(messageId: string): Promise<SavedMedia> {
    this.downloads.push(messageId);
    if (messageId !== "m-doc") throw new Error(`no media waiting for message ${messageId}`);
    return { path: "/srv/media/1-ab-labs.pdf", filename: "labs.pdf", mimetype: "application/pdf" };
  }
  async send(frame: SendFrame): Promise<void> {
    if (this.failWith) throw new Error(this.failWith);
    this.sent.push(frame);
  }
}

/** A gateway-side test client: collects frames and how the connection ended. */
class Client {
  readonly frames: BridgeFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(
    socketPath: string,
    readonly ws = connectTo(socketPath),
  ) {
    ws.on("message", (data) => {
      this.frames.push(parseBridgeFrame(data.toString()));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Resolves once `count` frames have arrived (fails the test after 3 s). */
  async waitFrames(count: number): Promise<BridgeFrame[]> {
    const deadline = Date.now() + 3_000;
    while (this.frames.length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} frames, got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.frames.slice(0, count);
  }
}

/** A WebSocket to the bridge over its Unix socket, as the gateway opens it. */
function connectTo(socketPath: string, options: ClientOptions = {}): WebSocket {
  return new WebSocket("ws://whatsapp-bridge/", {
    ...options,
    createConnection: () => net.connect({ path: socketPath }),
  });
}

function message(id: string, text = "my knee hurts"): MessageFrame {
  return {
    type: "message",
    messageId: id,
    chatJid: "4915123456789@s.whatsapp.net",
    senderJid: "4915123456789@s.whatsapp.net",
    senderNumber: "4915123456789",
    text,
    isGroup: false,
    mentioned: false,
    timestamp: 1_700_000_000,
  };
}

describe("bridge server", () => {
  let session: FakeSession;
  let server: BridgeServer;
  let root: string;
  let socketPath: string;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bridge-server-"));
    socketPath = bridgeSocketPath(root);
    session = new FakeSession();
    server = new BridgeServer({
      token: TOKEN,
      socketPath,
      session,
      logger: silentLogger(),
      authTimeoutMs: 150,
    });
    await server.listen();
  });

  afterEach(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function gateway(): Promise<Client> {
    const client = new Client(socketPath);
    await client.opened;
    client.send({ type: "auth", token: TOKEN });
    await client.waitFrames(1);
    return client;
  }

  it("listens on a 0600 socket in 0700 folders, and takes the socket away on close", async () => {
    expect(fs.lstatSync(socketPath).isSocket()).toBe(true);
    expect(fs.lstatSync(socketPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(root, "run")).mode & 0o777).toBe(0o700);
    await server.close();
    expect(fs.existsSync(socketPath)).toBe(false);
  });

  it("answers a good token with ready and the session state", async () => {
    session.current = "qr";
    const client = await gateway();
    expect(client.frames[0]).toEqual({ type: "ready", state: "qr" });
    client.ws.close();
  });

  it("closes a connection that does not authenticate in time with 4001", async () => {
    const client = new Client(socketPath);
    await client.opened;
    const started = Date.now();
    expect((await client.closed).code).toBe(CLOSE_AUTH_TIMEOUT);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(client.frames).toEqual([]);
  });

  it("closes a connection whose first frame is not auth with 4001, doing nothing", async () => {
    const client = new Client(socketPath);
    await client.opened;
    client.send({ type: "send", id: "r1", to: "1234567@s.whatsapp.net", text: "hello" });
    expect((await client.closed).code).toBe(CLOSE_AUTH_TIMEOUT);
    expect(session.sent).toEqual([]);
    const downloader = new Client(socketPath);
    await downloader.opened;
    downloader.send({ type: "download", id: "r2", messageId: "m-doc" });
    expect((await downloader.closed).code).toBe(CLOSE_AUTH_TIMEOUT);
    expect(session.downloads).toEqual([]);
  });

  it("closes a wrong token with 4003 and tells it nothing", async () => {
    server.publishMessage(message("m1"));
    for (const token of ["wrong", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const client = new Client(socketPath);
      await client.opened;
      client.send({ type: "auth", token });
      expect((await client.closed).code).toBe(CLOSE_AUTH_FAILED);
      expect(client.frames).toEqual([]);
    }
  });

  it("refuses an upgrade carrying an Origin header with 403, before any WebSocket exists", async () => {
    const ws = connectTo(socketPath, { headers: { Origin: "http://127.0.0.1:3001" } });
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode));
      ws.once("open", () => resolve(undefined));
      ws.once("error", () => {});
    });
    expect(status).toBe(403);
  });

  it("forwards send frames to the session and answers each with a result", async () => {
    const client = await gateway();
    client.send({ type: "send", id: "r1", to: "4915123456789@s.whatsapp.net", text: "take 1 tablet" });
    const [, result] = await client.waitFrames(2);
    expect(result).toEqual({ type: "result", id: "r1", ok: true });
    expect(session.sent).toEqual([
      { type: "send", id: "r1", to: "4915123456789@s.whatsapp.net", text: "take 1 tablet" },
    ]);

    session.failWith = "WhatsApp is not connected (state closed)";
    client.send({ type: "send", id: "r2", to: "4915123456789@s.whatsapp.net", text: "again" });
    const frames = await client.waitFrames(3);
    expect(frames[2]).toEqual({
      type: "result",
      id: "r2",
      ok: false,
      error: "WhatsApp is not connected (state closed)",
    });
    client.ws.close();
  });

  it("downloads media only when the gateway asks, answering with the saved file or why not", async () => {
    const client = await gateway();
    client.send({ type: "download", id: "d1", messageId: "m-doc" });
    client.send({ type: "download", id: "d2", messageId: "m-gone" });
    const frames = await client.waitFrames(3);
    expect(frames.slice(1)).toEqual([
      {
        type: "result",
        id: "d1",
        ok: true,
        media: { path: "/srv/media/1-ab-labs.pdf", filename: "labs.pdf", mimetype: "application/pdf" },
      },
      { type: "result", id: "d2", ok: false, error: "no media waiting for message m-gone" },
    ]);
    expect(session.downloads).toEqual(["m-doc", "m-gone"]);
    client.ws.close();
  });

  it("sends inbound messages again, in order, to the next connection until they are acked", async () => {
    server.publishMessage(message("m1"));
    server.publishMessage(message("m2"));
    const first = await gateway();
    const frames = await first.waitFrames(3);
    expect(frames.slice(1).map((f) => (f.type === "message" ? f.messageId : f.type))).toEqual(["m1", "m2"]);
    server.publishMessage(message("m3"));
    await first.waitFrames(4);
    // The gateway stored m1 only, then crashed.
    first.send({ type: "ack", messageId: "m1" });
    await waitUntil(() => server.unackedCount() === 2);
    first.ws.terminate();
    await first.closed;

    const second = await gateway();
    const again = await second.waitFrames(3);
    expect(again.slice(1).map((f) => (f.type === "message" ? f.messageId : f.type))).toEqual(["m2", "m3"]);
    second.send({ type: "ack", messageId: "m2" });
    second.send({ type: "ack", messageId: "m3" });
    await waitUntil(() => server.unackedCount() === 0);
    second.ws.close();
  });

  it("keeps at most maxUnacked messages, dropping the oldest", async () => {
    const smallSocket = bridgeSocketPath(path.join(root, "small"));
    const small = new BridgeServer({
      token: TOKEN,
      socketPath: smallSocket,
      session,
      logger: silentLogger(),
      maxUnacked: 2,
    });
    await small.listen();
    try {
      for (const id of ["m1", "m2", "m3"]) small.publishMessage(message(id));
      expect(small.unackedCount()).toBe(2);
      const client = new Client(smallSocket);
      await client.opened;
      client.send({ type: "auth", token: TOKEN });
      const frames = await client.waitFrames(3);
      expect(frames.slice(1).map((f) => (f.type === "message" ? f.messageId : ""))).toEqual(["m2", "m3"]);
      client.ws.close();
    } finally {
      await small.close();
    }
  });

  it("serves one gateway at a time: a newer authenticated connection replaces the older", async () => {
    const older = await gateway();
    const newer = await gateway();
    expect((await older.closed).code).toBe(CLOSE_REPLACED);
    server.publishStatus({ type: "status", state: "closed" });
    await newer.waitFrames(2);
    expect(newer.frames[1]).toEqual({ type: "status", state: "closed" });
    // An unauthenticated connection replaces nobody.
    const stranger = new Client(socketPath);
    await stranger.opened;
    stranger.send({ type: "auth", token: "nope" });
    await stranger.closed;
    server.publishMessage(message("m9"));
    const frames = await newer.waitFrames(3);
    expect(frames[2]).toMatchObject({ type: "message", messageId: "m9" });
    newer.ws.close();
  });

  it("gives a gateway that connects later the current QR code", async () => {
    server.publishStatus({ type: "status", state: "qr", qr: "2@qr-ref" });
    session.current = "qr";
    const client = await gateway();
    const frames = await client.waitFrames(2);
    expect(frames).toEqual([
      { type: "ready", state: "qr" },
      { type: "status", state: "qr", qr: "2@qr-ref" },
    ]);
    client.ws.close();
  });

  it("ignores a malformed frame after auth and keeps serving", async () => {
    const client = await gateway();
    client.ws.send("{not json");
    client.send({ type: "send", id: "r1", to: "4915123456789@s.whatsapp.net" });
    client.send({ type: "send", id: "r2", to: "4915123456789@s.whatsapp.net", text: "ok" });
    const frames = await client.waitFrames(2);
    expect(frames[1]).toEqual({ type: "result", id: "r2", ok: true });
    expect(session.sent.map((s) => s.id)).toEqual(["r2"]);
    client.ws.close();
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
