// GET /healthz: channel states and queue counts, no personal data; loopback only unless allowed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { restartDelay } from "../../src/gateway/gateway.js";
import { assertHealthHost, isLoopbackHost } from "../../src/gateway/health.js";
import { createLogger } from "../../src/log.js";
import { MemoryChannel } from "../support/memory-channel.js";
import {
  ScriptedAgent,
  SETTINGS,
  shutDown,
  startGateway,
  type TestGateway,
  tempDatabaseFile,
} from "./harness.js";

const running: TestGateway[] = [];
afterEach(async () => {
  for (const instance of running.splice(0)) await shutDown(instance);
});

async function get(port: number, route: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: response.status, body: await response.text() };
}

describe("/healthz", () => {
  it("reports channel states and queue counts, and no message text, sender or chat", async () => {
    const agent = new ScriptedAgent(["grandma's blood pressure was 182/110 this morning"]);
    const telegram = new MemoryChannel("telegram");
    const instance = await startGateway(tempDatabaseFile(), agent, [telegram]);
    running.push(instance);
    await telegram.deliver({
      text: "grandma's blood pressure was 182/110 this morning",
      senderId: "555123",
      chatId: "chat-777",
    });

    const { status, body } = await get(instance.gateway.healthPort!, "/healthz");

    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({
      status: "ok",
      channels: { telegram: "running" },
      refused: { telegram: 0 },
      queue: { pending: 1, unsent: 0 },
    });
    for (const secret of ["182", "grandma", "555123", "chat-777", "alice"])
      expect(body).not.toContain(secret);
    agent.release("grandma's blood pressure was 182/110 this morning");
  });

  it("answers 404 for any other path or method", async () => {
    const instance = await startGateway(tempDatabaseFile(), new ScriptedAgent(), [new MemoryChannel()]);
    running.push(instance);
    expect((await get(instance.gateway.healthPort!, "/")).status).toBe(404);
    expect((await get(instance.gateway.healthPort!, "/healthz/../inbox")).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${instance.gateway.healthPort}/healthz`, { method: "POST" });
    expect(post.status).toBe(404);
  });

  it("refuses to start on a non-loopback host unless gateway.allowNonLoopback is set", async () => {
    const telegram = new MemoryChannel();
    const db = tempDatabaseFile();
    await expect(
      startGateway(db, new ScriptedAgent(), [telegram], { settings: { ...SETTINGS, host: "0.0.0.0" } }),
    ).rejects.toThrow(/gateway\.host is "0\.0\.0\.0".*gateway\.allowNonLoopback/);
    // Nothing started: the channel never connected.
    expect(telegram.starts).toBe(0);
  });

  it("knows which hosts are loopback", () => {
    for (const host of ["127.0.0.1", "::1", "[::1]", "localhost", "LOCALHOST"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "192.168.1.10", "::", "example.com"])
      expect(isLoopbackHost(host)).toBe(false);
    expect(() => assertHealthHost("192.168.1.10", true)).not.toThrow();
    expect(() => assertHealthHost("192.168.1.10", false)).toThrow(/allowNonLoopback/);
  });
});

describe("channel restart backoff", () => {
  it("doubles from the base, caps at the maximum and jitters between 50 and 100 %", () => {
    const policy = { baseMs: 1_000, maxMs: 60_000 };
    expect([0, 1, 2, 3].map((attempt) => restartDelay(attempt, policy, () => 1))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(restartDelay(20, policy, () => 1)).toBe(60_000);
    expect(restartDelay(2, policy, () => 0)).toBe(2000);
  });
});

describe("gateway log", () => {
  it("creates the log file 0600 in a 0700 folder and keeps message text out at info level", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-log-"));
    const file = path.join(dir, "logs", "gateway.log");
    const previous = process.umask(0);
    let logger: ReturnType<typeof createLogger>;
    try {
      logger = createLogger({ file, level: "info" });
    } finally {
      process.umask(previous);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);

    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const agent = new ScriptedAgent();
      const telegram = new MemoryChannel();
      const instance = await startGateway(tempDatabaseFile(), agent, [telegram], { logger });
      await telegram.deliver({ text: "my HbA1c came back at 9.2%" });
      await vi.waitFor(() => expect(telegram.sent).toHaveLength(1));
      await shutDown(instance);
    } finally {
      stderr.mockRestore();
    }
    const log = fs.readFileSync(file, "utf8");
    expect(log).toContain("message stored");
    expect(log).toContain("reply sent");
    expect(log).not.toContain("HbA1c");
  });
});

describe("gateway log on a terminal", () => {
  it("shows readable lines on a terminal and JSON elsewhere, while the file keeps JSON", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-log-"));
    const file = path.join(dir, "logs", "gateway.log");
    const capture = (isTTY: boolean) => {
      const lines: string[] = [];
      const stream = Object.assign(
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
        { isTTY },
      );
      return { lines, stream };
    };
    const terminal = capture(true);
    createLogger({ file, level: "info", console: terminal.stream }).info(
      { channel: "telegram" },
      "channel running",
    );
    const pipe = capture(false);
    createLogger({ level: "info", console: pipe.stream }).info({ channel: "telegram" }, "channel running");

    const shown = stripVTControlCharacters(terminal.lines.join(""));
    expect(shown).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: .*channel running/);
    expect(shown).toMatch(/channel: .*"telegram"/);
    expect(() => JSON.parse(shown)).toThrow();
    expect(JSON.parse(pipe.lines.join(""))).toMatchObject({ level: 30, msg: "channel running" });
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ level: 30, channel: "telegram" });
  });
});
