// `npm run bench`: prints what every model request carries, turn and start-up latency, memory and storage speed.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { countTokens } from "gpt-tokenizer";
import { Agent } from "../src/agent/loop.js";
import { createProvider, resolveProvider } from "../src/agent/provider.js";
import { sessionKey } from "../src/agent/sessions.js";
import { toolDefinitions } from "../src/agent/tools/tool.js";
import { loadConfig } from "../src/config/load.js";
import { resolvePaths } from "../src/config/paths.js";
import { onboard } from "../src/setup/workspace.js";
import { openDatabase } from "../src/storage/db.js";
import { FakeOpenAI } from "../test/support/fake-openai.js";
import { MEDBOT_BIN } from "../test/support/medbot-cli.js";
import { benchArchive } from "./bench-archive.js";
import { benchAudit } from "./bench-audit.js";
import { benchGateway } from "./bench-gateway.js";
import { benchInstall } from "./bench-install.js";
import { benchKills } from "./bench-kills.js";
import { benchRedact } from "./bench-redact.js";
import { benchReports } from "./bench-reports.js";
import { benchStartup } from "./bench-startup.js";

const FIXED_PROMPT_BUDGET = 3500;
const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-"));
const fake = await FakeOpenAI.start();
const paths = resolvePaths({ configPath: path.join(home, "config.json") });
onboard(paths, { provider: "custom", apiKey: "bench", apiBase: fake.url, model: "bench-model" }, false);
const loaded = loadConfig({ configPath: paths.configFile }, {});
const resolved = resolveProvider(loaded.config);
if ("problem" in resolved) throw new Error(resolved.problem);
const agent = new Agent({
  config: loaded.config,
  paths: loaded.paths,
  db: openDatabase(paths.database),
  provider: createProvider(resolved, loaded.config.agents.defaults),
});

const rows: [string, string][] = [];
const report = (what: string, value: string) => {
  rows.push([what, value]);
};

// 1. The fixed part of every request: system prompt + tool definitions.
const system = agent.systemPrompt();
const tools = JSON.stringify(toolDefinitions(agent.tools));
const systemTokens = countTokens(system);
const toolTokens = countTokens(tools);
report("system prompt", `${systemTokens} tokens (${system.length} chars)`);
report(`tool definitions (${agent.tools.length} tools)`, `${toolTokens} tokens (${tools.length} chars)`);
report(
  "fixed part of every request",
  `${systemTokens + toolTokens} tokens (budget ${FIXED_PROMPT_BUDGET}; MedBot sends ~7,200)`,
);

// 2. Agent overhead per turn against an instant local model (no network beyond 127.0.0.1).
const origin = { channel: "bench", chatId: "bench" };
for (let i = 0; i < 20; i++) await agent.handle({ sessionKey: "warmup", text: `warm ${i}`, origin });
const plain = await timeTurns(200, (i) => ({
  sessionKey: sessionKey("bench", `s${i % 10}`, "u"),
  text: `hello ${i}`,
}));
report("turn, no tools (200 turns)", summary(plain));
fake.onRequest((request) =>
  request.body.messages.at(-1)?.role === "tool"
    ? { content: "done" }
    : { toolCalls: [{ name: "list_dir", arguments: { path: "." } }] },
);
const withTool = await timeTurns(100, (i) => ({
  sessionKey: sessionKey("bench", `t${i % 10}`, "u"),
  text: `list ${i}`,
}));
report("turn with one tool call (100 turns)", summary(withTool));
fake.onRequest(() => undefined);

// 3. Storage: one exchange per transaction, synchronous=FULL.
const started = performance.now();
for (let i = 0; i < 1000; i++) agent.sessions.appendTurn("bench:store:u", `message ${i}`, `reply ${i}`, "*");
report(
  "session writes",
  `${Math.round(1000 / ((performance.now() - started) / 1000))} exchanges/s (fsync each)`,
);

// 4. Memory of this process after the turns above.
const memory = process.memoryUsage();
report("memory after 320 turns", `rss ${mb(memory.rss)}, heap used ${mb(memory.heapUsed)}`);

// 5. The CLI as a user starts it (the package as npm installs it, then this checkout's built bin: short
// commands and the module count of each, and the doctor PDF export, first in a fresh process and later).
await benchInstall(report);
await benchStartup(report);
const env = { ...process.env, MEDBOT_HOME: home, MEDBOT_ALLOW_ROOT: "1" };
report("`medbot agent -m` round trip (median of 5)", `${await medianRun(5, ["agent", "-m", "hi"], env)} ms`);

agent.close();
await fake.close();

// 6. The family archive at the size of ten years of one member's data.
await benchArchive(report, summary);
await benchReports(report);

// 7. The gateway: overhead per message, throughput, and a real `medbot gateway` process.
await benchGateway(report, summary);

// 8. kill -9 mid-burst, ten times: duplicate chunks beyond the one in flight would be a bug.
await benchKills(report);

// 9. Identifier redaction of 1 MB inputs of every shape (linear time, issue 12).
benchRedact(report);

// 10. The audit log: an audited write on the reply path, head file included.
await benchAudit(report, summary);
fs.rmSync(home, { recursive: true, force: true });

const width = Math.max(...rows.map(([what]) => what.length));
console.log("medbot bench");
for (const [what, value] of rows) console.log(`  ${what.padEnd(width)}  ${value}`);

async function timeTurns(count: number, message: (i: number) => { sessionKey: string; text: string }) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await agent.handle({ ...message(i), origin });
    times.push(performance.now() - t);
  }
  return times;
}

function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function medianRun(times: number, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const results: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [MEDBOT_BIN, ...args], { env, stdio: "ignore" });
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`medbot ${args.join(" ")} exit ${code}`)),
      );
    });
    results.push(performance.now() - t);
  }
  results.sort((a, b) => a - b);
  return Math.round(results[Math.floor(results.length / 2)]!);
}
