// One agent turn: context, model, tool calls until a final answer (or the iteration cap), then the session.

import * as path from "node:path";
import { type Actor, hostOwner } from "../access/actor.js";
import { FamilyArchive } from "../archive/archive.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import { Pseudonyms, refusedPseudonymsError, retirePseudonyms } from "../security/pseudonyms.js";
import { ContactSends, EgressError } from "../sharing/contact-sends.js";
import type { Db } from "../storage/db.js";
import { hostTimeZone } from "../time/dates.js";
import {
  type DraftDecision,
  HELP_TEXT,
  newSessionKeptReply,
  parseCommand,
  parseDraftDecision,
} from "./commands.js";
import { buildSystemPrompt, promptFingerprint, runtimeHeader, type TurnOrigin } from "./context.js";
import { answerDoseReply } from "./dose-replies.js";
import { Memories, Memory, summariseIntoMemory } from "./memory.js";
import {
  type ChatMessage,
  type ChatProvider,
  ProviderError,
  pseudonymisedProvider,
  refusingUnknownPseudonyms,
  type ToolDefinition,
  TurnCancelled,
} from "./provider.js";
import { SessionStore } from "./sessions.js";
import { approvedSkillHashes, skillApprovalsFingerprint } from "./skill-approvals.js";
import { BUILTIN_SKILLS_DIR, loadSkills } from "./skills.js";
import { estimateTokens } from "./tokens.js";
import { defaultTools } from "./tools/index.js";
import { optionalToolProblems, optionalTools } from "./tools/optional.js";
import { runToolCall, type Tool, type ToolContext, toolDefinitions } from "./tools/tool.js";

export interface AgentOptions {
  config: MedbotConfig;
  paths: MedbotPaths;
  db: Db;
  /** The model, or why there is none (shown to the user instead of an answer). */
  provider: ChatProvider | { problem: string };
  tools?: Tool[];
  clock?: () => Date;
  timeZone?: string;
  /** Where operational problems go (never to the chat). */
  warn?: (message: string) => void;
  /** Called after each archive commit with the member changed (renders views off the write path). */
  onArchiveChange?: (memberId: string) => void;
  /** Called before the database closes (renders views still stale). */
  onClose?: () => void;
}

export interface IncomingMessage {
  sessionKey: string;
  text: string;
  origin: TurnOrigin;
  /** Who sent it; the host's owner when absent (the terminal). */
  actor?: Actor;
  /** Caps tool rounds below agents.defaults.maxToolIterations (the heartbeat's own cap). */
  maxToolIterations?: number;
  /** Scheduled turns (the heartbeat): a failure, the tool cap or an empty answer gives "" (nothing to send). */
  quietFailures?: boolean;
}

/** A message with the person it acts for resolved. */
type Turn = IncomingMessage & { actor: Actor };

/** How long a session waits to summarise again after a failed summary. */
const SUMMARY_RETRY_MS = 10 * 60 * 1000;
const UNEXPECTED = "Sorry, something went wrong on my side and I could not finish. Please try again.";

export class Agent {
  readonly sessions: SessionStore;
  /** The household's memory/MEMORY.md (owners'); `memories.of(actor)` gives anyone's. */
  readonly memory: Memory;
  readonly memories: Memories;
  readonly tools: Tool[];
  /** The tools in the provider's format, computed once: they are the same on every request. */
  private readonly definitions: ToolDefinition[];
  /** System prompts by notes file: owners share one, every other person has their own. */
  private readonly prompts = new Map<string, { fingerprint: string; text: string }>();
  readonly archive: FamilyArchive;
  private readonly running = new Map<string, AbortController>();
  private readonly summaryRetryAt = new Map<string, number>();
  private readonly clock: () => Date;
  private readonly warn: (message: string) => void;

  constructor(private readonly options: AgentOptions) {
    const { config } = options;
    this.sessions = new SessionStore(options.db, options.clock);
    this.memory = new Memory(options.paths.memoryFile);
    this.memories = new Memories(options.paths.workspace, this.memory);
    this.tools = options.tools ?? [...defaultTools, ...optionalTools(options.config)];
    this.definitions = toolDefinitions(this.tools);
    this.archive = new FamilyArchive(options.db, { clock: options.clock, onChange: options.onArchiveChange });
    this.clock = options.clock ?? (() => new Date());
    this.warn = options.warn ?? (() => {});
    // A switched-on tool that cannot be offered (exec without bubblewrap) is said at start, not hidden.
    if (!options.tools) for (const problem of optionalToolProblems(config)) this.warn(problem);
  }

  /** Answers one message: a command, or a model turn. Never throws; the reply is safe to show. */
  async handle(incoming: IncomingMessage): Promise<string> {
    // Without an actor the message comes from the host's terminal: the owner.
    const message: Turn = { ...incoming, actor: incoming.actor ?? hostOwner(incoming.origin.channel) };
    const command = parseCommand(message.text);
    if (command === "help") return HELP_TEXT;
    if (command === "stop") return this.stop(message.sessionKey) ? "Stopped." : "Nothing is running.";
    const decision = parseDraftDecision(message.text);
    if (decision) return this.decideDraft(decision, message);
    const dose = answerDoseReply({
      db: this.options.db,
      archive: this.archive,
      actor: message.actor,
      origin: message.origin,
      text: message.text,
      now: this.clock(),
      hostTimeZone: this.options.timeZone,
    });
    if (dose !== undefined) return dose;
    const { provider } = this.options;
    if ("problem" in provider) return message.quietFailures ? "" : provider.problem;
    // Narrowed grants: what was said under the wider ones is neither shown again nor summarised by /new,
    // and the pseudonyms it used no longer stand for anything.
    if (this.sessions.setAsideIfNarrowed(message.sessionKey, message.actor.grants))
      retirePseudonyms(this.options.db, message.sessionKey, this.clock);
    const model = this.conversationModel(provider, message.sessionKey);
    if (command === "new") return this.startNewSession(model, message);
    return this.runTurn(model, message);
  }

  /**
   * The model as one conversation sees it. With privacy.redactIdentifiers on (the one place identifiers are
   * masked: every request of the turn and its summaries goes through it) identifiers leave as that
   * conversation's pseudonyms and come back as the real values.
   */
  private conversationModel(provider: ChatProvider, sessionKey: string): ChatProvider {
    if (!this.options.config.privacy.redactIdentifiers) return provider;
    return pseudonymisedProvider(provider, new Pseudonyms(this.options.db, sessionKey, this.clock));
  }

  /** Confirms or cancels a draft send to a contact: the person's own decision, never the model's. */
  private decideDraft(decision: DraftDecision, message: Turn): string {
    const { actor } = message;
    const sends = new ContactSends(this.archive, this.options.config, this.options.paths.workspace);
    try {
      if (decision.decision === "cancel") {
        sends.cancel(actor, decision.code);
        return `Cancelled: draft ${decision.code} will not be sent.`;
      }
      const sent = sends.confirm(actor, decision.code);
      const when = message.origin.channel === "cli" ? "the next time medbot gateway runs" : "now";
      const to = `${sent.contact.name} (${sent.contact.channel}: ${sent.contact.address})`;
      return `Confirmed: ${path.basename(sent.file)} goes to ${to} ${when}.`;
    } catch (error) {
      if (error instanceof EgressError) return error.message;
      this.warn(`draft ${decision.code}: ${error instanceof Error ? error.message : String(error)}`);
      return `The draft ${decision.code} could not be ${decision.decision}ed; nothing was sent.`;
    }
  }

  /** Closes the database; the agent cannot be used afterwards. */
  close(): void {
    this.options.onClose?.();
    this.options.db.close();
  }

  /** Cancels the running turn of a session; true if there was one. */
  stop(sessionKey: string): boolean {
    const controller = this.running.get(sessionKey);
    controller?.abort();
    return controller !== undefined;
  }

  private async runTurn(provider: ChatProvider, message: Turn): Promise<string> {
    const controller = new AbortController();
    this.running.get(message.sessionKey)?.abort();
    this.running.set(message.sessionKey, controller);
    const { signal } = controller;
    // medbot's own text for the person (a draft to confirm): below the model's reply, whatever became of it.
    const fromMedbot: string[] = [];
    const shown = (reply: string) => [reply, ...fromMedbot].filter(Boolean).join("\n\n");
    try {
      const { config, paths } = this.options;
      const { actor } = message;
      const userText = `${runtimeHeader(message.origin, this.clock(), this.options.timeZone ?? hostTimeZone())}\n${message.text}`;
      const definitions = this.definitions;
      await this.fitHistory(provider, message.sessionKey, actor, definitions, userText, signal);
      const messages: ChatMessage[] = [
        { role: "system", content: this.systemPrompt(actor) },
        ...this.sessions.live(message.sessionKey).map(({ role, content }) => ({ role, content })),
        { role: "user", content: userText },
      ];
      const context: ToolContext = {
        workspace: paths.workspace,
        restrictToWorkspace: config.tools.restrictToWorkspace,
        builtinSkills: BUILTIN_SKILLS_DIR,
        sessionKey: message.sessionKey,
        origin: message.origin,
        actor,
        archive: this.archive,
        config,
        signal,
        tellPerson: (text) => fromMedbot.push(text),
      };
      const cap = Math.min(config.agents.defaults.maxToolIterations, message.maxToolIterations ?? Infinity);
      let answer: string | undefined;
      for (let round = 0; round < cap && answer === undefined; round++) {
        const reply = await provider.complete({ messages, tools: definitions, signal });
        if (reply.toolCalls.length === 0) {
          // A pseudonym the conversation never gave out already reads "(unknown phone number)" in the text.
          if (reply.refusedPseudonyms)
            this.warn(`the reply held ${reply.refusedPseudonyms.length} unknown pseudonym(s)`);
          answer = reply.content.trim() || (message.quietFailures ? "" : "(I have nothing to add.)");
          break;
        }
        messages.push({
          role: "assistant",
          content: reply.content || null,
          tool_calls: reply.toolCalls.map((call) => ({
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: call.arguments },
          })),
        });
        for (const call of reply.toolCalls) {
          if (signal.aborted) throw new TurnCancelled();
          messages.push({
            role: "tool",
            tool_call_id: call.id,
            content: call.refusedPseudonyms
              ? refusedPseudonymsError(call.name, call.refusedPseudonyms)
              : await runToolCall(this.tools, call, context),
          });
        }
      }
      answer ??= message.quietFailures
        ? ""
        : `I stopped after ${cap} tool steps without finishing. Please try again, or ask for a smaller step.`;
      answer = shown(answer);
      this.sessions.appendTurn(message.sessionKey, userText, answer, actor.grants);
      return answer;
    } catch (error) {
      if (error instanceof TurnCancelled || signal.aborted) return shown("Stopped.");
      if (error instanceof ProviderError) {
        this.warn(`model provider: ${error.message}`);
        return shown(message.quietFailures ? "" : error.userMessage);
      }
      this.warn(`turn failed: ${error instanceof Error ? error.message : String(error)}`);
      return shown(message.quietFailures ? "" : UNEXPECTED);
    } finally {
      if (this.running.get(message.sessionKey) === controller) this.running.delete(message.sessionKey);
    }
  }

  /**
   * The fixed part of every request for this actor: identity, workspace rules, their memory and the skills
   * list (and USER.md for owners). Rebuilt only when one of its files changed (by mtime and size), so a turn
   * does not re-read and re-parse them.
   */
  systemPrompt(actor: Actor = hostOwner()): string {
    const { workspace } = this.options.paths;
    const memory = this.memories.of(actor);
    const fingerprint = `${promptFingerprint(workspace, memory.file)}|${skillApprovalsFingerprint(this.options.db)}`;
    let prompt = this.prompts.get(memory.file);
    if (prompt?.fingerprint !== fingerprint) {
      const view = {
        household: actor.grants === "*",
        memory: { location: this.memories.location(memory), text: memory.read() },
      };
      const skills = loadSkills(workspace, process.env, approvedSkillHashes(this.options.db));
      prompt = { fingerprint, text: buildSystemPrompt(workspace, skills, view) };
      this.prompts.set(memory.file, prompt);
    }
    return prompt.text;
  }

  /**
   * Keeps a session within the context budget: the oldest turns are summarised into memory first and only
   * then leave the context. If summarising fails, the whole history stays (nothing is dropped unsummarised).
   */
  private async fitHistory(
    provider: ChatProvider,
    key: string,
    actor: Actor,
    definitions: ToolDefinition[],
    userText: string,
    signal: AbortSignal,
  ): Promise<void> {
    const { contextWindowTokens, maxTokens } = this.options.config.agents.defaults;
    const fixed =
      estimateTokens(this.systemPrompt(actor)) +
      estimateTokens(JSON.stringify(definitions)) +
      estimateTokens(userText);
    const budget = contextWindowTokens - maxTokens - fixed;
    const live = this.sessions.live(key);
    let total = live.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    if (live.length === 0 || total <= budget) return;
    // Summarise whole exchanges, oldest first, until the rest fills at most half the room.
    let cut = 0;
    while (cut < live.length && total > budget / 2) {
      total -= estimateTokens(live[cut]!.content) + estimateTokens(live[cut + 1]?.content ?? "");
      cut += 2;
    }
    const older = live.slice(0, cut);
    // After a failed summary the session waits before trying again, so an unreachable model does not
    // cost every turn a full round of retries; the messages stay in the context meanwhile.
    if ((this.summaryRetryAt.get(key) ?? 0) > this.clock().getTime()) return;
    try {
      await summariseIntoMemory(refusingUnknownPseudonyms(provider), this.memories.of(actor), older, signal);
      this.sessions.archiveThrough(key, older.at(-1)!.id);
      this.summaryRetryAt.delete(key);
    } catch (error) {
      if (signal.aborted) throw new TurnCancelled();
      this.summaryRetryAt.set(key, this.clock().getTime() + SUMMARY_RETRY_MS);
      this.warn(`could not summarise older messages into memory, keeping them: ${(error as Error).message}`);
    }
  }

  private async startNewSession(provider: ChatProvider, message: Turn): Promise<string> {
    const key = message.sessionKey;
    const live = this.sessions.live(key);
    if (live.length === 0) return "Started a new conversation.";
    try {
      await summariseIntoMemory(refusingUnknownPseudonyms(provider), this.memories.of(message.actor), live);
    } catch (error) {
      this.warn(`/new could not summarise the session: ${(error as Error).message}`);
      return newSessionKeptReply(error);
    }
    this.sessions.archiveThrough(key, live.at(-1)!.id);
    // The next conversation starts with fresh pseudonyms; this one's values are in memory and the archive.
    retirePseudonyms(this.options.db, key, this.clock);
    return "Started a new conversation. I saved the key points of the last one to memory.";
  }
}
