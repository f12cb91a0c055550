// An Agent over a real SQLite file in a temp folder, talking to the fake OpenAI server on 127.0.0.1.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Agent } from "../../src/agent/loop.js";
import { CONSOLIDATION_PROMPT } from "../../src/agent/memory.js";
import { createProvider, type RetryPolicy, resolveProvider } from "../../src/agent/provider.js";
import type { Tool } from "../../src/agent/tools/tool.js";
import { type MedbotPaths, resolvePaths } from "../../src/config/paths.js";
import { configSchema, type MedbotConfig } from "../../src/config/schema.js";
import { openDatabase } from "../../src/storage/db.js";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";

/** Short waits so failure paths take milliseconds; the attempt timeout stays roomy for a busy CI machine. */
export const QUICK_RETRY: RetryPolicy = {
  attempts: 3,
  baseDelayMs: 10,
  maxDelayMs: 50,
  deadlineMs: 10_000,
  attemptTimeoutMs: 5_000,
};

export interface HarnessOptions {
  /** Merged into agents.defaults (provider and model already point at the fake). */
  defaults?: Record<string, unknown>;
  /** The config's `tools` section. */
  toolsConfig?: Record<string, unknown>;
  /** Other top-level config sections (contacts, channels, people). */
  extraConfig?: Record<string, unknown>;
  retry?: Partial<RetryPolicy>;
  tools?: Tool[];
  clock?: () => Date;
  timeZone?: string;
  /** Files to create in the workspace before the agent starts, by workspace-relative path. */
  workspaceFiles?: Record<string, string>;
}

export interface Harness {
  fake: FakeOpenAI;
  agent: Agent;
  config: MedbotConfig;
  paths: MedbotPaths;
  /** What the agent reported through `warn` (operational problems, never shown in a chat). */
  warnings: string[];
  /** Sends `text` as Alice in the test chat (or in `session`). */
  send(text: string, session?: string): Promise<string>;
  /** A second Agent over the same data folder and database file (as after a restart). */
  reopen(): Agent;
  close(): Promise<void>;
}

export const ALICE = "test:family-chat:alice";
export const BOB = "test:family-chat:bob";

/** Starts a fake model server and an Agent configured against it. */
export async function startAgent(options: HarnessOptions = {}): Promise<Harness> {
  const fake = await FakeOpenAI.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-agent-"));
  const paths = resolvePaths({ configPath: path.join(dir, "config.json") }, {});
  fs.mkdirSync(paths.workspace, { recursive: true, mode: 0o700 });
  for (const [file, text] of Object.entries(options.workspaceFiles ?? {})) {
    fs.mkdirSync(path.dirname(path.join(paths.workspace, file)), { recursive: true });
    fs.writeFileSync(path.join(paths.workspace, file), text);
  }
  const config = configSchema.parse({
    providers: { custom: { apiKey: "test-key", apiBase: fake.url } },
    agents: { defaults: { provider: "custom", model: "fake-model", ...options.defaults } },
    tools: options.toolsConfig ?? {},
    ...options.extraConfig,
  });
  const resolved = resolveProvider(config);
  if ("problem" in resolved) throw new Error(resolved.problem);
  const retry = { ...QUICK_RETRY, ...options.retry };
  const warnings: string[] = [];
  const agents: Agent[] = [];
  const build = () => {
    const agent = new Agent({
      config,
      paths,
      db: openDatabase(paths.database),
      provider: createProvider(resolved, config.agents.defaults, retry),
      tools: options.tools,
      clock: options.clock,
      timeZone: options.timeZone ?? "UTC",
      warn: (message) => warnings.push(message),
    });
    agents.push(agent);
    return agent;
  };
  const agent = build();
  return {
    fake,
    agent,
    config,
    paths,
    warnings,
    send: (text, session = ALICE) =>
      agent.handle({ sessionKey: session, text, origin: { channel: "test", chatId: "family-chat" } }),
    reopen: build,
    async close() {
      for (const a of agents) a.close();
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True for the request that summarises a conversation into MEMORY.md. */
export function isConsolidation(request: RecordedRequest): boolean {
  return request.body.messages[0]?.content === CONSOLIDATION_PROMPT;
}

/** Chat requests of ordinary turns (not memory consolidation). */
export function turnRequests(fake: FakeOpenAI): RecordedRequest[] {
  return fake.chatRequests.filter((r) => !isConsolidation(r));
}

/** The earlier conversation a turn request carried: everything between the system prompt and the new message. */
export function historyOf(request: RecordedRequest): { role: string; content: string | null }[] {
  return request.body.messages.slice(1, -1);
}

/** The system prompt a request carried. */
export function systemPromptOf(request: RecordedRequest): string {
  const first = request.body.messages[0];
  if (first?.role !== "system" || typeof first.content !== "string") throw new Error("no system prompt");
  return first.content;
}

/** Everything a request sent, as one string (to check that something was or was not sent). */
export function textOf(request: RecordedRequest): string {
  return JSON.stringify(request.body.messages);
}

/** The tool results the model was given in a request, in order. */
export function toolResultsIn(request: RecordedRequest): string[] {
  return request.body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
}
