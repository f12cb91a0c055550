// Issue 12's figure for `npm run bench`: `medbot gateway` is killed with SIGKILL mid-burst ten times and
// restarted; every reply chunk Telegram received twice is counted. Only a chunk whose send was in flight at
// the kill (taken by Telegram, not yet recorded) may repeat; any duplicate beyond that window is a bug.
// Run alone with `npx tsx scripts/bench-kills.ts`.
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { FakeOpenAI, type RecordedRequest } from "../test/support/fake-openai.js";
import { FakeTelegram } from "../test/support/fake-telegram.js";
import { freePort, health, spawnGateway } from "../test/support/gateway-process.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../test/support/medbot-cli.js";

type Report = (what: string, value: string) => void;

const KILLS = 10;
const CHATS = 10;
const PER_CHAT = 10;
const SENDERS = Array.from({ length: CHATS }, (_, i) => ({ id: 701 + i, first_name: `Relative${i}` }));

/** One kill: duplicate chunks Telegram got, and the sends it had taken that the outbox had not recorded. */
interface KillRun {
  duplicates: number;
  inFlight: number;
}

/** Runs KILLS kill -9 / restart cycles and reports the duplicate chunks beside the in-flight window. */
export async function benchKills(report: Report): Promise<void> {
  const runs: KillRun[] = [];
  for (let kill = 0; kill < KILLS; kill++) runs.push(await killMidBurst(kill));
  const duplicates = runs.reduce((sum, run) => sum + run.duplicates, 0);
  const inFlight = runs.reduce((sum, run) => sum + run.inFlight, 0);
  const beyond = runs.reduce((sum, run) => sum + Math.max(0, run.duplicates - run.inFlight), 0);
  report(
    `duplicate chunks over ${KILLS} kill -9 mid-burst (${CHATS * PER_CHAT} messages each)`,
    `${duplicates} (in flight at the kills: ${inFlight}; beyond that window: ${beyond}, target 0)`,
  );
}

/** The token of a burst message, "k-<chat>-<n>", found in a text. */
function tokenIn(text: string): string | undefined {
  return /k-\d+-\d+/.exec(text)?.[0];
}

function echoToken(request: RecordedRequest) {
  const last = [...request.body.messages].reverse().find((message) => message.role === "user");
  return { delayMs: 10, reply: { content: `echo: ${tokenIn(last?.content ?? "") ?? "?"}` } };
}

/** Chunks the outbox recorded as sent (each burst reply is one chunk). */
function recordedChunks(home: string): number {
  const db = new Database(path.join(home, "workspace", "medbot.db"), { readonly: true, fileMustExist: true });
  try {
    return (
      db.prepare("SELECT coalesce(sum(chunks_sent), 0) AS n FROM gateway_outbox").get() as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench-kills: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A burst, a SIGKILL once `10 + 7·kill` replies went out (so the kills land at different points), a restart. */
async function killMidBurst(kill: number): Promise<KillRun> {
  const telegram = await FakeTelegram.start();
  const model = await FakeOpenAI.start();
  model.onRequest(echoToken);
  const port = await freePort();
  const home = tempHome("medbot-bench-kills-");
  writeConfig(home, {
    ...fakeProviderConfig(model.url),
    channels: {
      telegram: telegram.channelConfig(SENDERS.map((sender) => String(sender.id))),
    },
    gateway: { port },
  });
  const replies = () => telegram.callsOf("sendMessage").filter((call) => call.status === 200);
  try {
    const first = spawnGateway(home);
    for (let n = 0; n < PER_CHAT; n++)
      for (const sender of SENDERS) telegram.userSays(sender.id, sender, `note k-${sender.id}-${n}`);
    await waitFor(() => replies().length >= 10 + 7 * kill, "replies before the kill");
    first.child.kill("SIGKILL");
    await first.exited;
    const inFlight = replies().length - recordedChunks(home);

    telegram.redeliverConfirmedOnce();
    const second = spawnGateway(home);
    const answered = () => new Set(replies().map((call) => tokenIn(String(call.params.text)))).size;
    await waitFor(async () => {
      if (answered() < CHATS * PER_CHAT) return false;
      const body = (await health(port)) as { queue?: { pending: number; unsent: number } } | undefined;
      return body?.queue?.pending === 0 && body.queue.unsent === 0;
    }, "every message answered after the restart");
    second.child.kill("SIGTERM");
    await second.exited;
    return { duplicates: replies().length - CHATS * PER_CHAT, inFlight };
  } finally {
    await telegram.close();
    await model.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchKills((what, value) => console.log(`  ${what}  ${value}`));
}
