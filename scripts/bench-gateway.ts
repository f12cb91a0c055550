// The gateway's figures for `npm run bench`: per-message overhead, throughput across 50 chats, and the idle
// memory and start-up time of a real `medbot gateway` process against a fake Telegram.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Agent } from "../src/agent/loop.js";
import type { ChatProvider } from "../src/agent/provider.js";
import type { OutboundMessage } from "../src/channels/types.js";
import { loadConfig } from "../src/config/load.js";
import { resolvePaths } from "../src/config/paths.js";
import { type ChatAgent, Gateway } from "../src/gateway/gateway.js";
import { silentLogger } from "../src/log.js";
import { onboard } from "../src/setup/workspace.js";
import { openDatabase } from "../src/storage/db.js";
import { SETTINGS, STUB_GATE } from "../test/gateway/harness.js";
import { FakeTelegram } from "../test/support/fake-telegram.js";
import { freePort, health, spawnGateway } from "../test/support/gateway-process.js";
import { emailConfig, freshMailbox, startMailServer } from "../test/support/mail.js";
import { fakeProviderConfig, writeConfig } from "../test/support/medbot-cli.js";
import { MemoryChannel } from "../test/support/memory-channel.js";

type Report = (what: string, value: string) => void;

const LATENCY_MESSAGES = 500;
const BURST_CHATS = 50;
const BURST_MESSAGES = 2_000;
const PROCESS_RUNS = 5;

/** A memory channel that resolves the reply each sent text is waited for. */
class TimedChannel extends MemoryChannel {
  private readonly waiting = new Map<string, () => void>();

  override async send(message: OutboundMessage): Promise<void> {
    await super.send(message);
    for (const [ending, resolve] of this.waiting) {
      if (!message.text.endsWith(ending)) continue;
      this.waiting.delete(ending);
      resolve();
    }
  }

  /** Resolves when a reply ending with " <text>" has been sent. */
  replySent(text: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(` ${text}`, resolve));
  }
}

/** Answers instantly, as a model on the same machine with no thinking time would. */
const STUB_PROVIDER: ChatProvider = {
  name: "stub",
  model: "stub",
  complete: async (request) => {
    const last = request.messages.at(-1);
    const text = typeof last?.content === "string" ? last.content : "";
    return { content: `echo: ${text.split("\n").at(-1) ?? ""}`, toolCalls: [] };
  },
};

/** Measures the gateway in-process and as a real process, and reports the figures beside their targets. */
export async function benchGateway(report: Report, summary: (times: number[]) => string): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-gateway-"));
  const paths = resolvePaths({ configPath: path.join(home, "config.json") });
  onboard(
    paths,
    { provider: "custom", apiKey: "bench", apiBase: "http://127.0.0.1:9/v1", model: "stub" },
    false,
  );
  const loaded = loadConfig({ configPath: paths.configFile }, {});

  const withAgent = (db: ReturnType<typeof openDatabase>) =>
    new Agent({ config: loaded.config, paths: loaded.paths, db, provider: STUB_PROVIDER });
  const alone = (): ChatAgent => ({
    handle: async (message) => `echo: ${message.text}`,
    stop: () => false,
  });

  const full = await inProcess(path.join(home, "latency.db"), withAgent);
  report(
    `gateway + agent per message, stub model (${LATENCY_MESSAGES})`,
    `${summary(full.latencies)}  (target p50 < 2 ms, p99 < 10 ms)`,
  );
  report(`gateway + agent, ${BURST_CHATS} chats`, `${full.rate} msg/s  (target ≥ 300 msg/s)`);
  const bare = await inProcess(path.join(home, "bare.db"), alone);
  report(`gateway alone per message, stub agent (${LATENCY_MESSAGES})`, summary(bare.latencies));
  report(`gateway alone, ${BURST_CHATS} chats`, `${bare.rate} msg/s`);

  const mailbox = (await startMailServer().catch(() => false)) ? await freshMailbox() : undefined;
  const real = await realProcess(home, mailbox);
  report(
    `\`medbot gateway\` ready, spawn → /healthz running (median of ${PROCESS_RUNS})`,
    `${real.readyMs} ms  (target < 1000 ms)`,
  );
  report(
    `\`medbot gateway\` idle RSS, Telegram${mailbox ? " and email (IMAP IDLE on the test Dovecot)" : " only (no mail server here)"}`,
    `${real.rssMiB.toFixed(1)} MiB  (target < 100 MB)`,
  );
  fs.rmSync(home, { recursive: true, force: true });
}

/** Latency of one message at a time, then the rate of a burst over BURST_CHATS chats. */
async function inProcess(
  file: string,
  makeAgent: (db: ReturnType<typeof openDatabase>) => ChatAgent & { close?: () => void },
): Promise<{ latencies: number[]; rate: number }> {
  const db = openDatabase(file);
  const agent = makeAgent(db);
  const channel = new TimedChannel();
  const gateway = new Gateway({
    settings: SETTINGS,
    db,
    agent,
    gate: STUB_GATE,
    channels: [channel],
    logger: silentLogger(),
  });
  await gateway.start();

  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_MESSAGES + 50; i++) {
    const text = `reading ${i}`;
    const sent = channel.replySent(text);
    const started = performance.now();
    await channel.deliver({ text, chatId: `chat-${i % 10}`, senderId: `member-${i % 10}` });
    await sent;
    if (i >= 50) latencies.push(performance.now() - started);
  }

  const before = channel.sent.length;
  const started = performance.now();
  const last = channel.replySent(`burst ${BURST_MESSAGES - 1}`);
  for (let i = 0; i < BURST_MESSAGES; i++) {
    const chat = i % BURST_CHATS;
    await channel.deliver({ text: `burst ${i}`, chatId: `burst-${chat}`, senderId: `member-${chat}` });
  }
  await last;
  while (channel.sent.length - before < BURST_MESSAGES) await new Promise((resolve) => setImmediate(resolve));
  const rate = Math.round(BURST_MESSAGES / ((performance.now() - started) / 1000));

  await gateway.stop();
  agent.close?.();
  db.close();
  return { latencies, rate };
}

/** Median spawn → ready time of `medbot gateway`, and its RSS after a second of idling once ready. */
async function realProcess(home: string, mailbox?: string): Promise<{ readyMs: number; rssMiB: number }> {
  const telegram = await FakeTelegram.start();
  const port = await freePort();
  const processHome = path.join(home, "process");
  writeConfig(processHome, {
    ...fakeProviderConfig("http://127.0.0.1:9/v1"),
    channels: {
      telegram: telegram.channelConfig(["501"]),
      ...(mailbox ? { email: { ...emailConfig(mailbox), allowFrom: ["bob@example.test"] } } : {}),
    },
    gateway: { port },
  });
  const readyTimes: number[] = [];
  let rssMiB = 0;
  for (let run = 0; run < PROCESS_RUNS; run++) {
    const started = performance.now();
    const gateway = spawnGateway(processHome);
    for (;;) {
      const body = (await health(port)) as { channels?: Record<string, string> } | undefined;
      const states = Object.values(body?.channels ?? {});
      if (states.length === (mailbox ? 2 : 1) && states.every((state) => state === "running")) break;
      if (gateway.child.exitCode !== null) throw new Error(`medbot gateway exited:\n${gateway.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    readyTimes.push(performance.now() - started);
    if (run === PROCESS_RUNS - 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const status = fs.readFileSync(`/proc/${gateway.child.pid}/status`, "utf8");
      rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
    }
    gateway.child.kill("SIGTERM");
    const code = await gateway.exited;
    if (code !== 0) throw new Error(`medbot gateway exited ${code} on SIGTERM:\n${gateway.log()}`);
  }
  await telegram.close();
  readyTimes.sort((a, b) => a - b);
  return { readyMs: Math.round(readyTimes[Math.floor(readyTimes.length / 2)] ?? 0), rssMiB };
}
