// The WhatsApp session driven through a fake baileys socket (an EventEmitter as `ev`): connection events
// become status frames, messages become message frames with the right sender, media is downloaded only when
// asked for, and reconnects back off except after a logout or a takeover, which only the user can fix.
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AnyMessageContent, WAMessage } from "@whiskeysockets/baileys";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadAuthState, type StoredAuthState } from "../../bridge/src/auth-state.js";
import { type SessionOptions, WhatsAppSession, type WhatsAppSocket } from "../../bridge/src/session.js";
import type { MessageFrame, StatusFrame } from "../../src/bridge-protocol/protocol.js";
import { silentLogger } from "../../src/log.js";

const BOT = { id: "4915000000001:7@s.whatsapp.net", lid: "88888888:7@lid" };
const ANNA_PN = "4915123456789@s.whatsapp.net";
const ANNA_LID = "123456789012345@lid";
const GROUP = "120363025246125888@g.us";

/** A stand-in for baileys' socket: the test emits events into `ev` and reads what was sent. */
class FakeSocket implements WhatsAppSocket {
  readonly ev = new EventEmitter();
  readonly user = BOT;
  readonly sent: Array<{ jid: string; content: AnyMessageContent }> = [];
  ended = false;
  readonly lids = new Map<string, string>();
  readonly signalRepository = {
    lidMapping: { getPNForLID: async (lid: string) => this.lids.get(lid) ?? null },
  };
  async sendMessage(jid: string, content: AnyMessageContent): Promise<unknown> {
    this.sent.push({ jid, content });
    return {};
  }
  end(): void {
    this.ended = true;
  }
  open(): void {
    this.ev.emit("connection.update", { connection: "open" });
  }
  closeWith(statusCode: number): void {
    const error = Object.assign(new Error("closed"), { output: { statusCode } });
    this.ev.emit("connection.update", { connection: "close", lastDisconnect: { error, date: new Date() } });
  }
  receive(...messages: WAMessage[]): void {
    this.ev.emit("messages.upsert", { messages, type: "notify" });
  }
}

function textFrom(remoteJid: string, text: string, extra: Partial<WAMessage["key"]> = {}): WAMessage {
  return {
    key: { remoteJid, id: `ID${Math.random().toString(16).slice(2)}`, fromMe: false, ...extra },
    message: { conversation: text },
    messageTimestamp: 1_700_000_123,
    pushName: "Anna",
  };
}

describe("WhatsApp session", () => {
  let root: string;
  let auth: StoredAuthState;
  let sockets: FakeSocket[];
  let statuses: StatusFrame[];
  let messages: MessageFrame[];
  let session: WhatsAppSession;
  let downloads: Map<string, Uint8Array>;
  /** Message ids whose media was fetched from WhatsApp, in order. */
  let fetched: string[];
  let clock: number;

  const latest = () => sockets.at(-1)!;

  function makeSession(overrides: Partial<SessionOptions> = {}) {
    return new WhatsAppSession({
      auth,
      mediaDir: path.join(root, "media"),
      logger: silentLogger(),
      onStatus: (frame) => statuses.push(frame),
      onMessage: (frame) => messages.push(frame),
      makeSocket: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      backoff: { initialMs: 20, maxMs: 80 },
      random: () => 1,
      downloadMedia: async (message) => {
        fetched.push(message.key.id!);
        const bytes = downloads.get(message.key.id!);
        if (!bytes) throw new Error("no such media");
        return bytes;
      },
      ...overrides,
    });
  }

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-wa-session-"));
    auth = await loadAuthState(path.join(root, "auth"), { logger: silentLogger() });
    sockets = [];
    statuses = [];
    messages = [];
    downloads = new Map();
    fetched = [];
    clock = 1_700_000_000_000;
    session = makeSession();
  });

  afterEach(async () => {
    vi.useRealTimers();
    await session.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Lets queued message translations finish. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  it("reports connecting, the QR code and open as status frames", () => {
    session.start();
    expect(session.state()).toBe("connecting");
    latest().ev.emit("connection.update", { qr: "2@ref,noise,identity" });
    expect(session.state()).toBe("qr");
    latest().open();
    expect(statuses).toEqual([
      { type: "status", state: "connecting" },
      { type: "status", state: "qr", qr: "2@ref,noise,identity" },
      { type: "status", state: "open" },
    ]);
    expect(session.state()).toBe("open");
  });

  it("saves the credentials whenever baileys updates them", async () => {
    session.start();
    auth.state.creds.lastPropHash = "after-pairing";
    latest().ev.emit("creds.update", {});
    await vi.waitFor(() => {
      const file = path.join(root, "auth", "creds.json");
      expect(JSON.parse(fs.readFileSync(file, "utf8")).lastPropHash).toBe("after-pairing");
    });
  });

  it("turns a direct text message into a message frame", async () => {
    session.start();
    latest().open();
    const message = textFrom(ANNA_PN, "I took my blood pressure pill");
    latest().receive(message);
    await settle();
    expect(messages).toEqual([
      {
        type: "message",
        messageId: message.key.id,
        chatJid: ANNA_PN,
        senderJid: ANNA_PN,
        senderNumber: "4915123456789",
        text: "I took my blood pressure pill",
        isGroup: false,
        mentioned: false,
        pushName: "Anna",
        timestamp: 1_700_000_123,
      },
    ]);
  });

  it("reads extended text and captions, and skips our own, status, history and empty messages", async () => {
    session.start();
    latest().open();
    const extended: WAMessage = {
      ...textFrom(ANNA_PN, ""),
      message: { extendedTextMessage: { text: "see https://x" } },
    };
    latest().receive(
      textFrom(ANNA_PN, "sent by us", { fromMe: true }),
      textFrom("status@broadcast", "a status", { participant: ANNA_PN }),
      { ...textFrom(ANNA_PN, ""), message: { reactionMessage: { text: "👍" } } },
      extended,
    );
    latest().ev.emit("messages.upsert", { messages: [textFrom(ANNA_PN, "old history")], type: "append" });
    await settle();
    expect(messages.map((m) => m.text)).toEqual(["see https://x"]);
  });

  it("makes the participant the sender of a group message, and sees mentions of our jid or LID", async () => {
    session.start();
    latest().open();
    const plain = textFrom(GROUP, "morning all", { participant: ANNA_PN });
    const byJid: WAMessage = {
      key: { remoteJid: GROUP, id: "M2", fromMe: false, participant: ANNA_PN },
      message: {
        extendedTextMessage: {
          text: "@bot dose?",
          contextInfo: { mentionedJid: ["4915000000001@s.whatsapp.net"] },
        },
      },
      messageTimestamp: 1,
    };
    const byLid: WAMessage = {
      key: { remoteJid: GROUP, id: "M3", fromMe: false, participant: ANNA_PN },
      message: { extendedTextMessage: { text: "@bot", contextInfo: { mentionedJid: ["88888888@lid"] } } },
      messageTimestamp: 1,
    };
    const other: WAMessage = {
      key: { remoteJid: GROUP, id: "M4", fromMe: false, participant: ANNA_PN },
      message: {
        extendedTextMessage: {
          text: "@ben",
          contextInfo: { mentionedJid: ["4915999999999@s.whatsapp.net"] },
        },
      },
      messageTimestamp: 1,
    };
    latest().receive(plain, byJid, byLid, other);
    await settle();
    expect(messages[0]).toMatchObject({
      chatJid: GROUP,
      senderJid: ANNA_PN,
      senderNumber: "4915123456789",
      isGroup: true,
      mentioned: false,
    });
    expect(messages.map((m) => m.mentioned)).toEqual([false, true, true, false]);
  });

  it("maps LID senders to phone numbers from the alt jid or baileys' LID store, else null", async () => {
    session.start();
    latest().open();
    latest().lids.set("222222222222222@lid", "4917000000002:0@s.whatsapp.net");
    latest().receive(
      textFrom(ANNA_LID, "dm with alt", { remoteJidAlt: ANNA_PN }),
      textFrom(GROUP, "group with alt", { participant: ANNA_LID, participantAlt: ANNA_PN }),
      textFrom("222222222222222@lid", "dm via store"),
      textFrom(GROUP, "group via store", { participant: "222222222222222@lid" }),
      textFrom("333333333333333@lid", "unknown lid"),
    );
    await settle();
    expect(messages.map((m) => [m.text, m.senderJid, m.senderNumber])).toEqual([
      ["dm with alt", ANNA_LID, "4915123456789"],
      ["group with alt", ANNA_LID, "4915123456789"],
      ["dm via store", "222222222222222@lid", "4917000000002"],
      ["group via store", "222222222222222@lid", "4917000000002"],
      ["unknown lid", "333333333333333@lid", null],
    ]);
  });

  /** A document message from Anna, announced with `fileLength` bytes. */
  function documentFrom(id: string, fileName: string, fileLength: number): WAMessage {
    return {
      key: { remoteJid: ANNA_PN, id, fromMe: false },
      message: {
        documentMessage: { fileName, mimetype: "application/pdf", caption: "lab results", fileLength },
      },
      messageTimestamp: 5,
    };
  }

  it("announces an inbound document or photo without downloading anything, in arrival order", async () => {
    session.start();
    latest().open();
    const photo: WAMessage = {
      key: { remoteJid: ANNA_PN, id: "IMG1", fromMe: false },
      message: { imageMessage: { mimetype: "image/jpeg; codecs=x" } },
      messageTimestamp: 6,
    };
    downloads.set("DOC1", Buffer.from("%PDF"));
    downloads.set("IMG1", Buffer.from([0xff, 0xd8]));
    latest().receive(documentFrom("DOC1", "../../.bashrc", 4), photo, textFrom(ANNA_PN, "after the files"));
    await settle();
    expect(messages.map((m) => m.messageId)).toEqual(["DOC1", "IMG1", messages[2]?.messageId]);
    expect(messages.map((m) => [m.text, m.mediaPending])).toEqual([
      ["lab results", { filename: "bashrc.pdf", mimetype: "application/pdf", size: 4 }],
      ["", { filename: "file.jpg", mimetype: "image/jpeg" }],
      ["after the files", undefined],
    ]);
    // Nobody asked: nothing was fetched from WhatsApp and nothing written.
    expect(fetched).toEqual([]);
    expect(fs.existsSync(path.join(root, "media"))).toBe(false);
  });

  it("downloads announced media on request, once, under a sanitised private name in the media folder", async () => {
    session.start();
    latest().open();
    downloads.set("DOC1", Buffer.from("%PDF"));
    downloads.set("DOC2", Buffer.from("%PDF two"));
    latest().receive(documentFrom("DOC1", "../../.bashrc", 4), documentFrom("DOC2", "b.pdf", 8));
    await settle();

    const saved = await session.download("DOC1");
    const mediaDir = path.join(root, "media");
    expect(fetched).toEqual(["DOC1"]);
    expect(saved).toMatchObject({ filename: "bashrc.pdf", mimetype: "application/pdf" });
    expect(path.dirname(saved.path)).toBe(mediaDir);
    expect(fs.readFileSync(saved.path, "utf8")).toBe("%PDF");
    expect(fs.statSync(saved.path).mode & 0o777).toBe(0o600);
    expect(fs.statSync(mediaDir).mode & 0o777).toBe(0o700);
    // A gateway that crashed before storing asks again and gets the same file, not a second copy.
    expect(await session.download("DOC1")).toEqual(saved);
    expect(fetched).toEqual(["DOC1"]);
    expect(fs.readdirSync(mediaDir)).toHaveLength(1);
    await expect(session.download("NEVER-SEEN")).rejects.toThrow(/no media waiting for message NEVER-SEEN/);
  });

  it("refuses media over the size limit, declared or actual, and forgets media after an hour or once the list is full", async () => {
    await session.stop();
    session = makeSession({ pendingMedia: { maxBytes: 10, maxEntries: 3, now: () => clock } });
    session.start();
    latest().open();
    downloads.set("BIG-DECLARED", Buffer.from("x"));
    downloads.set("BIG-ACTUAL", Buffer.from("more than ten bytes"));
    downloads.set("OLD", Buffer.from("old"));
    latest().receive(documentFrom("BIG-DECLARED", "a.pdf", 11), documentFrom("BIG-ACTUAL", "b.pdf", 3));
    await settle();
    await expect(session.download("BIG-DECLARED")).rejects.toThrow(/11 bytes, larger than the 10-byte limit/);
    expect(fetched).toEqual([]);
    await expect(session.download("BIG-ACTUAL")).rejects.toThrow(/larger than the 10-byte limit/);
    expect(fs.existsSync(path.join(root, "media"))).toBe(false);

    latest().receive(documentFrom("OLD", "old.pdf", 3));
    await settle();
    clock += 60 * 60 * 1000;
    await expect(session.download("OLD")).rejects.toThrow(/no media waiting for message OLD/);

    latest().receive(...["N1", "N2", "N3", "N4"].map((id) => documentFrom(id, `${id}.pdf`, 1)));
    await settle();
    downloads.set("N4", Buffer.from("4"));
    await expect(session.download("N1")).rejects.toThrow(/no media waiting/);
    expect(fs.readFileSync((await session.download("N4")).path, "utf8")).toBe("4");
  });

  it("stops reconnecting when WhatsApp logged the device out (401), tells how to fix it and forgets the keys", async () => {
    await auth.saveCreds();
    session.start();
    latest().open();
    latest().closeWith(401);
    expect(statuses.at(-1)).toMatchObject({ type: "status", state: "logged_out" });
    expect(statuses.at(-1)?.detail).toContain("medbot channels login whatsapp");
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sockets).toHaveLength(1);
    expect(latest().ended).toBe(true);
    expect(fs.readdirSync(path.join(root, "auth"))).toEqual([]);
  });

  it("stops reconnecting when another session replaced this one (440)", async () => {
    session.start();
    latest().open();
    latest().closeWith(440);
    expect(statuses.at(-1)).toMatchObject({ type: "status", state: "replaced" });
    expect(statuses.at(-1)?.detail).toContain("medbot channels login whatsapp");
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sockets).toHaveLength(1);
    expect(session.state()).toBe("replaced");
  });

  it("reconnects after other closes with a doubling, capped delay that resets once open", async () => {
    vi.useFakeTimers();
    session.start();
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = sockets.length;
      latest().closeWith(428);
      expect(statuses.at(-1)).toMatchObject({ state: "closed" });
      let waited = 0;
      while (sockets.length === before && waited < 1_000) {
        vi.advanceTimersByTime(1);
        waited++;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([20, 40, 80, 80]);
    latest().open();
    latest().closeWith(408);
    vi.advanceTimersByTime(19);
    expect(sockets).toHaveLength(5);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(6);
  });

  it("jitters the delay between half and all of the ceiling", async () => {
    vi.useFakeTimers();
    await session.stop();
    session = makeSession({ random: () => 0 });
    session.start();
    latest().closeWith(500);
    vi.advanceTimersByTime(9);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
  });

  it("reconnects at once when baileys asks for a restart (515, after pairing)", async () => {
    vi.useFakeTimers();
    session.start();
    latest().closeWith(515);
    vi.advanceTimersByTime(0);
    expect(sockets).toHaveLength(2);
  });

  it("sends text and documents, and refuses while not connected or to a bad chat id", async () => {
    session.start();
    await expect(session.send({ type: "send", id: "r0", to: ANNA_PN, text: "hi" })).rejects.toThrow(
      /not connected/,
    );
    latest().open();
    await session.send({ type: "send", id: "r1", to: ANNA_PN, text: "Your next dose is at 8pm." });
    const pdf = path.join(root, "report.pdf");
    fs.writeFileSync(pdf, "%PDF-1.7");
    await session.send({
      type: "send",
      id: "r2",
      to: GROUP,
      text: "Report for Dr. Lee",
      document: { path: pdf, filename: "report.pdf", mimetype: "application/pdf" },
    });
    expect(latest().sent[0]).toEqual({ jid: ANNA_PN, content: { text: "Your next dose is at 8pm." } });
    expect(latest().sent[1]?.jid).toBe(GROUP);
    expect(latest().sent[1]?.content).toMatchObject({
      fileName: "report.pdf",
      mimetype: "application/pdf",
      caption: "Report for Dr. Lee",
    });
    expect(String((latest().sent[1]?.content as { document: Buffer }).document)).toBe("%PDF-1.7");
    await expect(session.send({ type: "send", id: "r3", to: "not-a-jid", text: "x" })).rejects.toThrow(
      /chat id/,
    );
    await expect(
      session.send({
        type: "send",
        id: "r4",
        to: ANNA_PN,
        text: "",
        document: { path: path.join(root, "missing.pdf"), filename: "m.pdf", mimetype: "application/pdf" },
      }),
    ).rejects.toThrow(/not found/);
    expect(latest().sent).toHaveLength(2);
  });
});
