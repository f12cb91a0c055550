// Issue 12: the CLI and the gateway write to one database at once, and neither gets `database is locked`.
// A deferred transaction that reads before it writes cannot wait for the other process's write lock, so
// every write transaction begins IMMEDIATE (writeTransaction); a source check keeps it that way.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { appendAudit, verifyAudit } from "../../src/audit/audit-log.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, health, spawnGateway } from "../support/gateway-process.js";
import { gatewayTestScope } from "../support/gateway-scope.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../support/medbot-cli.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const WRITER = fileURLToPath(new URL("../support/metric-writer.ts", import.meta.url));
const CLI_WRITES = 60;
const CHATS = 10;
const PER_CHAT = 16;
const SENDERS = Array.from({ length: CHATS }, (_, i) => ({ id: 701 + i, first_name: `Relative${i}` }));

const SOMEONE = { person: "unknown", channel: "telegram", grants: [] as string[] };

const { processes, cleanups } = gatewayTestScope();

/** Runs test/support/metric-writer.ts (the `medbot metrics add` code path, COUNT times); its stdout lines. */
function runMetricWriter(home: string, count: number): Promise<string[]> {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, home, String(count)], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (data: Buffer) => {
    output += data.toString();
  });
  child.stderr.on("data", (data: Buffer) => {
    output += data.toString();
  });
  return new Promise((resolve) => child.on("close", () => resolve(output.trim().split("\n"))));
}

function echoToken(request: RecordedRequest) {
  const last = [...request.body.messages].reverse().find((message) => message.role === "user");
  return { delayMs: 5, reply: { content: `echo: ${/m-\d+-\d+/.exec(last?.content ?? "")?.[0] ?? "?"}` } };
}

describe("two processes writing one database", () => {
  it("CLI writes during a gateway burst all commit, and every message is answered", async () => {
    const telegram = await FakeTelegram.start();
    const model = await FakeOpenAI.start();
    cleanups.push(
      () => telegram.close(),
      () => model.close(),
    );
    model.onRequest(echoToken);
    const port = await freePort();
    const home = tempHome("medbot-two-writers-");
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    writeConfig(home, {
      ...fakeProviderConfig(model.url),
      channels: {
        telegram: telegram.channelConfig(SENDERS.map((sender) => String(sender.id))),
      },
      gateway: { port },
    });
    const gateway = spawnGateway(home);
    processes.push(gateway);
    await vi.waitFor(async () => expect(await health(port)).toMatchObject({ status: "ok" }), {
      timeout: 20_000,
      interval: 50,
    });

    const cli = runMetricWriter(home, CLI_WRITES);
    for (let n = 0; n < PER_CHAT; n++)
      for (const sender of SENDERS) telegram.userSays(sender.id, sender, `note m-${sender.id}-${n}`);
    const lines = await cli;

    const replies = () => telegram.callsOf("sendMessage").filter((call) => call.status === 200);
    await vi.waitFor(() => expect(replies().length).toBe(CHATS * PER_CHAT), {
      timeout: 40_000,
      interval: 50,
    });
    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);

    expect(lines.filter((line) => !line.startsWith("ok ") && line !== "ready")).toEqual([]);
    expect(lines.filter((line) => line.startsWith("ok "))).toHaveLength(CLI_WRITES);
    expect(gateway.log()).not.toMatch(/database is locked/i);
    const tokens = replies().map((call) => /m-\d+-\d+/.exec(String(call.params.text))?.[0]);
    expect(new Set(tokens).size).toBe(CHATS * PER_CHAT);
    const db = new Database(path.join(home, "workspace", "medbot.db"), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) AS n FROM metrics").get()).toEqual({ n: CLI_WRITES });
    } finally {
      db.close();
    }
  }, 90_000);
});

describe("an audit entry appended on its own", () => {
  it("chains after the other process's entries instead of colliding with them", async () => {
    const home = tempHome("medbot-audit-race-");
    writeConfig(home, fakeProviderConfig("http://127.0.0.1:9/v1"));
    const db = openDatabase(path.join(home, "workspace", "medbot.db"));
    cleanups.push(
      () => {
        db.close();
      },
      () => fs.rmSync(home, { recursive: true, force: true }),
    );
    const cli = runMetricWriter(home, CLI_WRITES);
    // The gateway audits a refused sender outside any other transaction; here it does so while the
    // other process commits readings (each with its own audit entry).
    const failures: string[] = [];
    const started = Date.now();
    let appended = 0;
    while (Date.now() - started < 20_000 && appended < 3000) {
      try {
        appendAudit(db, SOMEONE, { action: "access.denied", entity: "sender", entityId: "999" });
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
      appended++;
      if (appended % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const lines = await cli;
    expect(lines.filter((line) => line.startsWith("ok "))).toHaveLength(CLI_WRITES);
    expect(failures).toEqual([]);
    expect(verifyAudit(db)).toMatchObject({ ok: true });
  }, 60_000);
});

describe("write transactions in the sources", () => {
  it("begin only through writeTransaction (IMMEDIATE), never a plain deferred .transaction(", () => {
    const offenders: string[] = [];
    const visit = (folder: string): void => {
      for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
        const full = path.join(folder, entry.name);
        if (entry.isDirectory() && entry.name !== "node_modules") visit(full);
        else if (entry.name.endsWith(".ts") && full !== path.join(REPO, "src", "storage", "db.ts")) {
          const text = fs.readFileSync(full, "utf8");
          if (/\.transaction\s*\(/.test(text) || /\bBEGIN\s*(DEFERRED\b|TRANSACTION\b|;|["'`])/.test(text))
            offenders.push(path.relative(REPO, full));
        }
      }
    };
    visit(path.join(REPO, "src"));
    visit(path.join(REPO, "bridge", "src"));
    expect(offenders).toEqual([]);
  });
});
