// A Gateway over a real SQLite file, memory channels, a scripted agent and a stub access gate.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AccessDecision, AccessGate } from "../../src/access/gate-contract.js";
import type { IncomingMessage } from "../../src/agent/loop.js";
import type { MedbotConfig } from "../../src/config/schema.js";
import { type ChatAgent, Gateway, type GatewayOptions } from "../../src/gateway/gateway.js";
import { silentLogger } from "../../src/log.js";
import { type Db, openDatabase } from "../../src/storage/db.js";
import type { MemoryChannel } from "../support/memory-channel.js";

export const SETTINGS: MedbotConfig["gateway"] = {
  host: "127.0.0.1",
  port: 0,
  allowNonLoopback: false,
  maxParallelSessions: 4,
  shutdownDeadlineS: 20,
  maxInboundChars: 16_000,
  turnDeadlineS: 600,
};

/** Answers "re: <text>"; a text listed in `held` waits until release(text) or stop(session). */
export class ScriptedAgent implements ChatAgent {
  readonly calls: IncomingMessage[] = [];
  readonly stopped: string[] = [];
  private readonly holds = new Map<string, { sessionKey: string; release: (reply: string) => void }>();

  constructor(
    private readonly held: readonly string[] = [],
    private readonly replyFor: (text: string) => string = (text) => `re: ${text}`,
  ) {}

  handle(message: IncomingMessage): Promise<string> {
    this.calls.push(message);
    if (!this.held.includes(message.text)) return Promise.resolve(this.replyFor(message.text));
    return new Promise((resolve) =>
      this.holds.set(message.text, { sessionKey: message.sessionKey, release: resolve }),
    );
  }

  /** True once a held text has reached the agent. */
  isHolding(text: string): boolean {
    return this.holds.has(text);
  }

  release(text: string): void {
    const hold = this.holds.get(text);
    if (!hold) throw new Error(`"${text}" is not being held`);
    this.holds.delete(text);
    hold.release(this.replyFor(text));
  }

  stop(sessionKey: string): boolean {
    this.stopped.push(sessionKey);
    let any = false;
    for (const [text, hold] of this.holds) {
      if (hold.sessionKey !== sessionKey) continue;
      this.holds.delete(text);
      hold.release("Stopped.");
      any = true;
    }
    return any;
  }

  texts(): string[] {
    return this.calls.map((call) => call.text);
  }
}

/** Lets everyone in as "alice-person" except "mallory" (refused) and "stranger" (refused with a pairing code). */
export const STUB_GATE: AccessGate = {
  actorNow(message) {
    const decision = STUB_GATE.check(message);
    return decision.allowed ? decision.actor : undefined;
  },
  recordRefusal: () => undefined,
  check(message): AccessDecision {
    if (message.senderId === "mallory") return { allowed: false, reason: "not in allowFrom" };
    if (message.senderId === "stranger")
      return { allowed: false, reason: "pairing", reply: "Pairing code: 4821" };
    return {
      allowed: true,
      actor: { person: `${message.senderId}-person`, channel: message.channel, grants: "*" },
    };
  },
};

export interface TestGateway {
  gateway: Gateway;
  db: Db;
  file: string;
}

/** A temp folder holding a medbot.db for one test (reused across "restarts"). */
export function tempDatabaseFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-gateway-")), "medbot.db");
}

/** Starts a gateway over `file` with the given agent and channels. */
export async function startGateway(
  file: string,
  agent: ChatAgent,
  channels: MemoryChannel[],
  overrides: Partial<GatewayOptions> = {},
): Promise<TestGateway> {
  const db = openDatabase(file);
  const gateway = new Gateway({
    settings: SETTINGS,
    db,
    agent,
    gate: STUB_GATE,
    channels,
    logger: silentLogger(),
    backoff: { baseMs: 5, maxMs: 40 },
    watchIntervalMs: 10,
    random: () => 1,
    ...overrides,
  });
  await gateway.start();
  return { gateway, db, file };
}

/** Stops the gateway and closes its database. */
export async function shutDown(running: TestGateway): Promise<void> {
  await running.gateway.stop();
  running.db.close();
}

/** Counts inbox rows by status. */
export function inboxRows(db: Db): Array<{ message_id: string; status: string }> {
  return db.prepare("SELECT message_id, status FROM gateway_inbox ORDER BY id").all() as Array<{
    message_id: string;
    status: string;
  }>;
}
