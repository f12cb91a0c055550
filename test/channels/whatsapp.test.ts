import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WhatsAppAdapter, type WhatsAppTiming } from "../../src/channels/whatsapp.js";
import { BRIDGE_MAIN, bridgeFolders } from "../../src/channels/whatsapp-bridge-process.js";
import { markdownToWhatsApp } from "../../src/channels/whatsapp-format.js";
import { registerChannels } from "../../src/cli/channels.js";
import { configSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/log.js";
import { FakeBridge, type FakeBridgeOptions } from "../support/fake-bridge.js";
import { freePort } from "../support/gateway-process.js";
import { adapterContract, failingOnceContext, heldContext, recordingContext } from "./contract.js";

const ANNA = "491701234567";
const ANNA_CHAT = `${ANNA}@s.whatsapp.net`;
const STRANGER = "15550001111";
const FAMILY_GROUP = "120363025246125486@g.us";
const FAST: WhatsAppTiming = { readyTimeoutMs: 2000, sendTimeoutMs: 2000, deliverBackoffMs: 10 };

function whatsappConfig(bridgeToken: string, extra: Record<string, unknown> = {}) {
  return configSchema.parse({ channels: { whatsapp: { enabled: true, bridgeToken, ...extra } } }).channels
    .whatsapp;
}

function dataDir(): string {
  return fs.mkdtempSync(path.join(tmpdir(), "medbot-whatsapp-"));
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

/** A fake bridge listening where the adapter of data folder `home` looks for its bridge. */
function fakeBridgeFor(home: string, options: Omit<FakeBridgeOptions, "socketPath"> = {}) {
  return FakeBridge.start({ ...options, socketPath: bridgeFolders(home).socketPath });
}

function unmanaged(
  home: string,
  token: string,
  logger = silentLogger(),
  extra: Record<string, unknown> = {},
) {
  return new WhatsAppAdapter(whatsappConfig(token, extra), {
    dataDir: home,
    manageBridge: false,
    timing: FAST,
    logger,
  });
}

adapterContract("whatsapp", async () => {
  const home = dataDir();
  const fake = await fakeBridgeFor(home);
  return {
    adapter: unmanaged(home, fake.token),
    chatId: ANNA_CHAT,
    userSays: (text) => void fake.userSays({ senderNumber: ANNA, text }),
    repeatDelivered: () => fake.repeatHandedOut(),
    sentTexts: () => fake.sendsTo(ANNA_CHAT).map((frame) => frame.text),
    receiveRequests: () => fake.received.length + fake.authTokens.length,
    close: () => fake.close(),
  };
});

describe("WhatsApp adapter", () => {
  let fake: FakeBridge;
  let adapter: WhatsAppAdapter;
  let home: string;

  beforeEach(async () => {
    home = dataDir();
    fake = await fakeBridgeFor(home);
    adapter = unmanaged(home, fake.token);
  });

  afterEach(async () => {
    await adapter.stop();
    await fake.close();
  });

  it("turns a message frame into an InboundMessage and acks it only after deliver resolved", async () => {
    const context = heldContext();
    await adapter.start(context);
    const frame = fake.userSays({
      senderNumber: ANNA,
      text: "Anna took 500 mg paracetamol",
      pushName: "Anna",
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(1));
    expect(context.delivered[0]).toEqual({
      channel: "whatsapp",
      account: "whatsapp",
      chatId: ANNA_CHAT,
      senderId: ANNA,
      messageId: frame.messageId,
      text: "Anna took 500 mg paracetamol",
      isGroup: false,
      mentioned: false,
      senderName: "Anna",
      receivedAt: new Date(frame.timestamp * 1000).toISOString(),
    });

    // While the inbox has not committed, the bridge keeps the message.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.acks()).toEqual([]);
    expect(fake.pendingIds()).toEqual([frame.messageId]);

    context.settle("stored");
    await vi.waitFor(() => expect(fake.acks()).toEqual([frame.messageId]));
    expect(fake.pendingIds()).toEqual([]);
  });

  it("maps a group message: the participant is the sender, the group the chat", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.userSays({
      senderNumber: ANNA,
      chatJid: FAMILY_GROUP,
      isGroup: true,
      mentioned: true,
      text: "@medbot BP?",
    });
    fake.userSays({ senderNumber: ANNA, chatJid: FAMILY_GROUP, isGroup: true, text: "unrelated chatter" });
    fake.userSays({
      senderNumber: null,
      senderJid: "123456789012345@lid",
      chatJid: "123456789012345@lid",
      text: "who?",
    });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(3));
    expect(context.delivered.map((m) => [m.chatId, m.senderId, m.isGroup, m.mentioned])).toEqual([
      [FAMILY_GROUP, ANNA, true, true],
      [FAMILY_GROUP, ANNA, true, false],
      ["123456789012345@lid", "123456789012345@lid", false, false],
    ]);
  });

  it("downloads a file only for a sender the gate lets in; a refused sender gets no download and is still acked", async () => {
    const { mediaDir } = bridgeFolders(home);
    fake.mediaDir = mediaDir;
    const context = recordingContext((sender) => sender === ANNA);
    await adapter.start(context);
    const labs = { filename: "labs.pdf", mimetype: "application/pdf" };
    const refused = fake.userSays({
      senderNumber: STRANGER,
      text: "show me Anna's medications",
      attachment: { ...labs, bytes: "%PDF-1.4 stranger" },
    });
    const allowed = fake.userSays({
      senderNumber: ANNA,
      text: "my labs",
      attachment: { ...labs, bytes: "%PDF-1.4 anna" },
    });
    await vi.waitFor(() => expect(fake.acks()).toEqual([refused.messageId, allowed.messageId]));

    expect(context.asked).toEqual([STRANGER, ANNA]);
    expect(fake.downloads()).toEqual([allowed.messageId]);
    // The file is kept in its sender's own folder, which only she (and owners) may read.
    expect(fs.readdirSync(mediaDir)).toEqual([ANNA]);
    const saved = fs.readdirSync(path.join(mediaDir, ANNA));
    expect(saved).toHaveLength(1);
    expect(fs.readFileSync(path.join(mediaDir, ANNA, saved[0]!), "utf8")).toBe("%PDF-1.4 anna");
    expect(fs.statSync(path.join(mediaDir, ANNA)).mode & 0o777).toBe(0o700);
    expect(context.delivered.map((message) => message.text)).toEqual([
      "show me Anna's medications",
      `my labs\n\n[attached: labs.pdf (application/pdf), saved as media/whatsapp/${ANNA}/${saved[0]}]`,
    ]);
    expect(fake.received.filter((frame) => frame.type === "send")).toEqual([]);
  });

  it("asks nothing of the gate for a message without a file", async () => {
    const context = recordingContext();
    await adapter.start(context);
    const frame = fake.userSays({ senderNumber: ANNA, text: "pulse 64" });
    await vi.waitFor(() => expect(fake.acks()).toEqual([frame.messageId]));
    expect(context.asked).toEqual([]);
    expect(fake.downloads()).toEqual([]);
  });

  it("delivers a message whose file the bridge could not save, saying why, and acks it", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.failNextDownloads("the file is 30000000 bytes, larger than the 26214400-byte limit");
    const frame = fake.userSays({
      senderNumber: ANNA,
      text: "",
      attachment: { filename: "scan.jpg", mimetype: "image/jpeg", bytes: "jpeg" },
    });
    await vi.waitFor(() => expect(fake.acks()).toEqual([frame.messageId]));
    expect(fake.downloads()).toEqual([frame.messageId]);
    expect(context.delivered.map((message) => message.text)).toEqual([
      "[attached: scan.jpg (image/jpeg), not saved: the file is 30000000 bytes, larger than the 26214400-byte limit]",
    ]);
  });

  it("neither delivers nor acks a message whose download the lost bridge never answered", async () => {
    const context = recordingContext();
    await adapter.start(context);
    fake.holdDownloads = true;
    fake.userSays({
      senderNumber: ANNA,
      text: "my labs",
      attachment: { filename: "labs.pdf", mimetype: "application/pdf", bytes: "%PDF" },
    });
    await vi.waitFor(() => expect(fake.downloads()).toHaveLength(1));
    await fake.close();
    await vi.waitFor(() => expect(adapter.state()).toBe("failed"));
    // The bridge still holds the message and hands it to the next connection, file and all.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(context.delivered).toEqual([]);
    expect(fake.acks()).toEqual([]);
  });

  it("delivers again when the inbox failed, and acks only then", async () => {
    const context = failingOnceContext();
    await adapter.start(context);
    const frame = fake.userSays({ senderNumber: ANNA, text: "weight 71.2 kg" });
    await vi.waitFor(() => expect(fake.acks()).toEqual([frame.messageId]));
    expect(context.attempts).toEqual(["weight 71.2 kg", "weight 71.2 kg"]);
    expect(adapter.state()).toBe("running");
  });

  it("is running only while WhatsApp is open; logged out it is failed and the log says how to link again", async () => {
    const { logger, lines } = capturingLogger();
    adapter = unmanaged(home, fake.token, logger);
    await adapter.start(recordingContext());
    expect(adapter.state()).toBe("running");
    fake.setState("connecting");
    await vi.waitFor(() => expect(adapter.state()).toBe("starting"));
    fake.setState("open");
    await vi.waitFor(() => expect(adapter.state()).toBe("running"));
    fake.setState("logged_out", "WhatsApp logged this device out");
    await vi.waitFor(() => expect(adapter.state()).toBe("failed"));
    // Restarting cannot link WhatsApp again: the channel's problem stops the gateway's restarts.
    expect(adapter.problem()).toMatch(
      /logged medbot out; stop medbot gateway, run `medbot channels login whatsapp`/,
    );
    expect(lines.join("\n")).toMatch(
      /logged medbot out; stop medbot gateway, run `medbot channels login whatsapp`/,
    );
    await expect(
      adapter.send({ channel: "whatsapp", account: "", chatId: ANNA_CHAT, text: "hello" }),
    ).rejects.toThrow(/not connected/);
    await adapter.stop();
    expect(adapter.state()).toBe("failed");
  });

  it("does not start when the bridge reports WhatsApp logged out", async () => {
    await fake.close();
    fake = await fakeBridgeFor(home, { state: "logged_out" });
    adapter = unmanaged(home, fake.token);
    await expect(adapter.start(recordingContext())).rejects.toThrow(
      /WhatsApp logged_out; stop medbot gateway, run `medbot channels login whatsapp`/,
    );
    expect(adapter.state()).toBe("failed");
    expect(adapter.problem()).toMatch(/logged medbot out/);
  });

  it("is failed when the bridge goes away, and reconnects when the gateway restarts it", async () => {
    const context = recordingContext();
    await adapter.start(context);
    const first = fake.userSays({ senderNumber: ANNA, text: "slept 7 hours" });
    await vi.waitFor(() => expect(fake.acks()).toEqual([first.messageId]));
    await fake.close();
    await vi.waitFor(() => expect(adapter.state()).toBe("failed"));

    // The bridge comes back on its socket with a message that arrived meanwhile and one already stored.
    fake = await fakeBridgeFor(home, { token: fake.token });
    const waiting = fake.userSays({ senderNumber: ANNA, text: "pulse 64" });
    // What the gateway's supervisor does with a failed channel: stop, then start again.
    await adapter.stop();
    await adapter.start(context);
    expect(adapter.state()).toBe("running");
    await vi.waitFor(() => expect(fake.acks()).toEqual([waiting.messageId]));
    fake.repeatHandedOut();
    fake.userSays({ senderNumber: ANNA, text: "thanks" });
    await vi.waitFor(() => expect(context.delivered).toHaveLength(3));
    expect(context.delivered.map((message) => message.text)).toEqual(["slept 7 hours", "pulse 64", "thanks"]);
  });

  it("sends Markdown as WhatsApp markup and waits for the bridge's result", async () => {
    await adapter.start(recordingContext());
    await adapter.send({
      channel: "whatsapp",
      account: "",
      chatId: ANNA_CHAT,
      text: "**Warfarin** & aspirin: see [DDInter](https://ddinter.scbdd.com/)",
    });
    expect(fake.sendsTo(ANNA_CHAT)).toEqual([
      {
        type: "send",
        id: expect.any(String),
        to: ANNA_CHAT,
        text: "*Warfarin* & aspirin: see DDInter (https://ddinter.scbdd.com/)",
      },
    ]);
  });

  it("rejects a send the bridge reports failed, so the gateway retries it", async () => {
    await adapter.start(recordingContext());
    fake.failNextSends("not-authorized");
    await expect(
      adapter.send({ channel: "whatsapp", account: "", chatId: ANNA_CHAT, text: "Recorded." }),
    ).rejects.toThrow(/not-authorized/);
    await adapter.send({ channel: "whatsapp", account: "", chatId: ANNA_CHAT, text: "Recorded." });
    expect(fake.sendsTo(ANNA_CHAT)).toHaveLength(2);
  });

  it("sends an export as a document with its caption, or after a long text", async () => {
    await adapter.start(recordingContext());
    const file = path.join(home, "workspace", "family", "anna", "export.pdf");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, "%PDF-1.4\n%%EOF\n");
    const document = { path: file, filename: "anna-2026-11.pdf" };
    await adapter.send({
      channel: "whatsapp",
      account: "",
      chatId: ANNA_CHAT,
      text: "Anna's export.",
      document,
    });
    const long = "Lots of detail. ".repeat(100);
    await adapter.send({ channel: "whatsapp", account: "", chatId: ANNA_CHAT, text: long, document });
    const pdf = { path: file, filename: "anna-2026-11.pdf", mimetype: "application/pdf" };
    expect(fake.sendsTo(ANNA_CHAT).map(({ text, document }) => ({ text, document }))).toEqual([
      { text: "Anna's export.", document: pdf },
      { text: long.trim(), document: undefined },
      { text: "", document: pdf },
    ]);
  });

  it("fails to start with a wrong token, naming the key", async () => {
    const wrong = unmanaged(home, "not-the-token");
    await expect(wrong.start(recordingContext())).rejects.toThrow(/channels\.whatsapp\.bridgeToken/);
    expect(wrong.state()).toBe("failed");
    expect(fake.authTokens).toEqual(["not-the-token"]);
  });

  it("ignores channels.whatsapp.bridgeUrl (MedBot configs carry it), saying so, and refuses an empty token", () => {
    const { logger, lines } = capturingLogger();
    unmanaged(home, "t", logger, { bridgeUrl: "ws://127.0.0.1:3001" });
    expect(lines.join("\n")).toContain("channels.whatsapp.bridgeUrl is ignored");
    expect(() => new WhatsAppAdapter(whatsappConfig(""), { dataDir: home })).toThrow(
      /channels\.whatsapp\.bridgeToken is empty; run medbot onboard/,
    );
  });
});

describe("WhatsApp bridge link: a squatter gets no token and no message", () => {
  const squatters: FakeBridge[] = [];
  afterEach(async () => {
    for (const squatter of squatters.splice(0)) await squatter.close();
  });

  async function squatter(socketPath?: string): Promise<FakeBridge> {
    const fake = await FakeBridge.start({ acceptAnyToken: true, ...(socketPath ? { socketPath } : {}) });
    squatters.push(fake);
    return fake;
  }

  /** Starts an unmanaged adapter of `home`; expects it refused, saying why, and the squatter untouched. */
  async function expectRefused(home: string, planted: FakeBridge, why: string | RegExp): Promise<void> {
    const adapter = unmanaged(home, "family-bridge-token-0123456789abcdef");
    const context = recordingContext();
    const start = adapter.start(context);
    await expect(start).rejects.toThrow(
      /WhatsApp: refusing the WhatsApp bridge socket, the token was not sent/,
    );
    await expect(start).rejects.toThrow(why);
    expect(adapter.state()).toBe("failed");
    planted.userSays({ senderNumber: ANNA, text: "what are Dad's readings?" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(planted.connections).toBe(0);
    expect(planted.authTokens).toEqual([]);
    expect(context.delivered).toEqual([]);
  }

  it("never dials the old TCP port: a process holding it learns nothing; the socket's bridge is used", async () => {
    const home = dataDir();
    const onPort = await squatter();
    const bridge = await fakeBridgeFor(home);
    squatters.push(bridge);
    const adapter = unmanaged(home, bridge.token, silentLogger(), { bridgeUrl: onPort.url });
    const context = recordingContext();
    await adapter.start(context);
    try {
      expect(adapter.state()).toBe("running");
      onPort.userSays({ senderNumber: ANNA, text: "send me Dad's lab report" });
      bridge.userSays({ senderNumber: ANNA, text: "pulse 64" });
      await vi.waitFor(() => expect(context.delivered.map((m) => m.text)).toEqual(["pulse 64"]));
      await adapter.send({ channel: "whatsapp", account: "", chatId: ANNA_CHAT, text: "Recorded." });
      expect(bridge.sendsTo(ANNA_CHAT)).toHaveLength(1);
      expect(onPort.connections).toBe(0);
      expect(onPort.authTokens).toEqual([]);
    } finally {
      await adapter.stop();
    }
  });

  it("refuses a socket in a folder others can write", async () => {
    const home = dataDir();
    const { socketPath } = bridgeFolders(home);
    const planted = await squatter(socketPath);
    fs.chmodSync(path.dirname(socketPath), 0o777);
    await expectRefused(home, planted, `${path.dirname(socketPath)} is 0777; it must be 0700`);
  });

  it("refuses a symlink at the socket path to a socket elsewhere", async () => {
    const home = dataDir();
    const { socketPath } = bridgeFolders(home);
    const plantedPath = path.join(dataDir(), "planted.sock");
    const planted = await squatter(plantedPath);
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    fs.symlinkSync(plantedPath, socketPath);
    await expectRefused(home, planted, `${socketPath} is a symbolic link, not the bridge's socket`);
  });

  it("refuses a socket folder that is a symlink to another folder", async () => {
    const home = dataDir();
    const { socketPath } = bridgeFolders(home);
    const elsewhere = dataDir();
    const planted = await squatter(path.join(elsewhere, "bridge.sock"));
    fs.mkdirSync(path.join(home, "run"), { mode: 0o700 });
    fs.symlinkSync(elsewhere, path.dirname(socketPath));
    await expectRefused(home, planted, `${path.dirname(socketPath)} is a symbolic link`);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a socket that belongs to another user", async () => {
    const home = dataDir();
    const { socketPath } = bridgeFolders(home);
    const planted = await squatter(socketPath);
    fs.chownSync(socketPath, 65534, 65534);
    await expectRefused(home, planted, `${socketPath} belongs to uid 65534`);
  });

  it("refuses a file at the socket path", async () => {
    const home = dataDir();
    const { socketPath } = bridgeFolders(home);
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    fs.writeFileSync(socketPath, "", { mode: 0o600 });
    const adapter = unmanaged(home, "family-bridge-token-0123456789abcdef");
    await expect(adapter.start(recordingContext())).rejects.toThrow(`${socketPath} is not a socket`);
    expect(adapter.state()).toBe("failed");
  });
});

describe("Markdown to WhatsApp markup", () => {
  it("renders bold, italic, strike, headings, bullets and links, and keeps code", () => {
    const markdown = [
      "# Anna's week",
      "**BP** 128/82, *pulse* 64, ~~old dose~~ & fine",
      "- take `2*3` tablets",
      "```ts",
      "const **x** = 1;",
      "```",
      "[DDInter](https://ddinter.scbdd.com/) and https://example.org",
    ].join("\n");
    const rendered = markdownToWhatsApp(markdown);
    expect(rendered).toBe(
      [
        "*Anna's week*",
        "*BP* 128/82, _pulse_ 64, ~old dose~ & fine",
        "• take `2*3` tablets",
        "```",
        "const **x** = 1;",
        "```",
        "DDInter (https://ddinter.scbdd.com/) and https://example.org",
      ].join("\n"),
    );
    expect(rendered.length).toBeLessThanOrEqual(markdown.length);
  });

  it("leaves snake_case names and lone stars alone", () => {
    expect(markdownToWhatsApp("blood_pressure_sys 2*3*4")).toBe("blood_pressure_sys 2*3*4");
  });
});

/** The pid of this test process's bridge child. */
function bridgeChildPid(): number {
  const children = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], {
    encoding: "utf8",
  });
  const line = children.split("\n").find((entry) => entry.includes(BRIDGE_MAIN));
  if (!line) throw new Error(`no bridge child among:\n${children}`);
  return Number(line.trim().split(/\s+/)[0]);
}

describe.skipIf(!fs.existsSync(BRIDGE_MAIN))("WhatsApp adapter with the real bridge", () => {
  it("spawns bridge/src/main.ts on the private socket, authenticates, refuses a wrong token, respawns it after it died", async () => {
    const home = dataDir();
    const { socketPath } = bridgeFolders(home);
    // baileys dials a loopback port where nothing listens, never WhatsApp itself.
    vi.stubEnv("MEDBOT_BRIDGE_WA_URL", `ws://127.0.0.1:${await freePort()}/ws/chat`);
    vi.stubEnv("MEDBOT_ALLOW_ROOT", "1");
    const adapter = new WhatsAppAdapter(whatsappConfig("real-bridge-token-abcdef0123456789"), {
      dataDir: home,
      timing: { spawnConnectMs: 30_000, readyTimeoutMs: 10_000 },
      logger: silentLogger(),
    });
    try {
      await adapter.start(recordingContext());
      // Authenticated; WhatsApp itself is not linked here, so the channel is not running yet.
      expect(["starting", "running"]).toContain(adapter.state());
      expect(fs.statSync(path.join(home, "whatsapp-auth")).mode & 0o777).toBe(0o700);
      expect(fs.lstatSync(socketPath).mode & 0o777).toBe(0o600);
      const impostor = new WhatsAppAdapter(whatsappConfig("guessed-token"), {
        dataDir: home,
        manageBridge: false,
        logger: silentLogger(),
      });
      await expect(impostor.start(recordingContext())).rejects.toThrow(/refused the token/);

      // The bridge dies, leaving its socket file: the channel is failed; the supervisor's stop and start
      // bring up a new bridge, which clears the dead one's socket.
      const first = bridgeChildPid();
      process.kill(first, "SIGKILL");
      await vi.waitFor(() => expect(adapter.state()).toBe("failed"));
      await adapter.stop();
      await adapter.start(recordingContext());
      expect(["starting", "running"]).toContain(adapter.state());
      expect(bridgeChildPid()).not.toBe(first);
    } finally {
      await adapter.stop();
      vi.unstubAllEnvs();
    }
    expect(adapter.state()).toBe("stopped");
    const after = new WhatsAppAdapter(whatsappConfig("real-bridge-token-abcdef0123456789"), {
      dataDir: home,
      manageBridge: false,
      timing: { readyTimeoutMs: 1000 },
      logger: silentLogger(),
    });
    // The child is gone, and its socket with it.
    expect(fs.existsSync(socketPath)).toBe(false);
    await expect(after.start(recordingContext())).rejects.toThrow(`not listening on ${socketPath}`);
  });
});

describe("medbot channels status", () => {
  let health: http.Server | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await new Promise((resolve) => (health ? health.close(resolve) : resolve(undefined)));
    health = undefined;
  });

  /** Runs `medbot channels ...args` in-process against `configFile`; returns what it wrote. */
  async function channels(configFile: string, ...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => out.push(String(chunk)) > 0);
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => err.push(String(chunk)) > 0);
    const program = new Command().option("-c, --config <path>").exitOverride();
    registerChannels(program);
    await program.parseAsync(["node", "medbot", "--config", configFile, "channels", ...args]);
    vi.restoreAllMocks();
    return { stdout: out.join(""), stderr: err.join("") };
  }

  function writeConfig(gatewayPort: number): string {
    const home = dataDir();
    const file = path.join(home, "config.json");
    const channelsConfig = {
      telegram: { enabled: true, token: "1:x", allowFrom: ["*"] },
      whatsapp: { enabled: true, bridgeToken: "t", allowFrom: [ANNA, "+44 7700 900123"] },
      email: { enabled: false },
    };
    fs.writeFileSync(file, JSON.stringify({ channels: channelsConfig, gateway: { port: gatewayPort } }));
    fs.chmodSync(file, 0o600);
    fs.chmodSync(home, 0o700);
    return file;
  }

  it("summarises who may talk on each channel and the running gateway's live states", async () => {
    const report = { status: "degraded", channels: { telegram: "running", whatsapp: "starting" }, queue: {} };
    health = http.createServer((_request, response) => response.end(JSON.stringify(report)));
    await new Promise<void>((resolve) => health?.listen(0, "127.0.0.1", resolve));
    const file = writeConfig((health.address() as net.AddressInfo).port);

    const { stdout } = await channels(file, "status", "--json");
    const status = JSON.parse(stdout) as { gatewayRunning: boolean; channels: Record<string, unknown>[] };
    expect(status.gatewayRunning).toBe(true);
    expect(status.channels.slice(0, 3)).toEqual([
      {
        name: "telegram",
        enabled: true,
        allowFrom: { summary: 'everyone ("*")', senders: 0, everyone: true },
        live: "running",
      },
      {
        name: "whatsapp",
        enabled: true,
        allowFrom: { summary: "2 senders", senders: 2, everyone: false },
        linked: false,
        live: "starting",
      },
      { name: "email", enabled: false, allowFrom: { summary: "nobody", senders: 0, everyone: false } },
    ]);

    const text = await channels(file, "status");
    expect(text.stdout).toMatch(/^whatsapp +enabled +2 senders, not linked, starting$/m);
    expect(text.stdout).toContain("Gateway: running (degraded)");
    expect(text.stderr).toContain('channels.telegram.allowFrom is "*"');
    expect(text.stderr).toContain("run medbot channels login whatsapp");
  });

  it("refuses to log in while a bridge holds the socket, or the socket folder is loose; logs in only whatsapp", async () => {
    const file = writeConfig(await freePort());
    const { socketPath } = bridgeFolders(path.dirname(file));
    const fake = await FakeBridge.start({ socketPath });
    try {
      await expect(channels(file, "login", "whatsapp")).rejects.toThrow(
        `the WhatsApp bridge socket ${socketPath} is in use; if medbot gateway runs with WhatsApp, stop it first`,
      );
      expect(fake.connections).toBe(0);
      fs.chmodSync(path.dirname(socketPath), 0o755);
      await expect(channels(file, "login", "whatsapp")).rejects.toThrow(
        `${path.dirname(socketPath)} is 0755; it must be 0700`,
      );
      expect(fake.connections).toBe(0);
      await expect(channels(file, "login", "telegram")).rejects.toThrow(/only whatsapp is linked by login/);
    } finally {
      await fake.close();
    }
  });

  it("says the gateway is not running when nothing answers", async () => {
    const file = writeConfig(await freePort());
    const { stdout } = await channels(file, "status");
    expect(stdout).toContain("Gateway: not running");
    expect(stdout).toMatch(/^telegram +enabled +everyone \("\*"\)$/m);
  });
});
