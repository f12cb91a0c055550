// The model provider: any OpenAI-compatible endpoint through the openai SDK, retried inside a deadline.
import type OpenAI from "openai";
import type { MedbotConfig } from "../config/schema.js";

export type ChatMessage = OpenAI.Chat.ChatCompletionMessageParam;
export type ToolDefinition = OpenAI.Chat.ChatCompletionFunctionTool;

export interface ToolCall {
  id: string;
  name: string;
  /** The raw JSON text the model produced; validated by the tool's schema before use. */
  arguments: string;
  /** Pseudonyms in the arguments that this conversation never gave out: the call must not run. */
  refusedPseudonyms?: readonly string[];
}

export interface ChatReply {
  content: string;
  toolCalls: ToolCall[];
  /** Pseudonyms the text held that this conversation never gave out (the text has a note in their place). */
  refusedPseudonyms?: readonly string[];
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  signal?: AbortSignal;
}

export interface ChatProvider {
  readonly name: string;
  readonly model: string;
  complete(request: ChatRequest): Promise<ChatReply>;
}

/** Text bound for the model with identifiers as pseudonyms, and the model's text with the real values back. */
export interface Pseudonymiser {
  mask(text: string): string;
  reveal(text: string): { text: string; refused: readonly string[] };
}

/**
 * The provider seen through one conversation's pseudonyms: every message's text and the tool arguments of
 * earlier replies are masked before they leave; the reply comes back with the real values in its text and
 * its tool arguments. A tool call holding a pseudonym medbot refused is marked so it is never run, and the
 * reply says which pseudonyms its text held that were refused (they are replaced there by a note).
 */
export function pseudonymisedProvider(inner: ChatProvider, pseudonyms: Pseudonymiser): ChatProvider {
  return {
    name: inner.name,
    model: inner.model,
    async complete(request) {
      const messages = request.messages.map((message) => maskMessage(message, pseudonyms));
      return revealReply(await inner.complete({ ...request, messages }), pseudonyms);
    },
  };
}

/**
 * For replies stored as they come (memory summaries): a reply whose text held a pseudonym the conversation
 * never gave out is refused as a whole (ProviderError), so no note is kept with a made-up value in it.
 */
export function refusingUnknownPseudonyms(inner: ChatProvider): ChatProvider {
  return {
    name: inner.name,
    model: inner.model,
    async complete(request) {
      const reply = await inner.complete(request);
      if (reply.refusedPseudonyms?.length)
        throw new ProviderError(
          `the reply held pseudonyms this conversation never gave out (${reply.refusedPseudonyms.join(", ")})`,
          APOLOGY,
        );
      return reply;
    },
  };
}

function maskMessage(message: ChatMessage, pseudonyms: Pseudonymiser): ChatMessage {
  const mask = (text: string) => pseudonyms.mask(text);
  const { content } = message;
  let masked = message;
  if (typeof content === "string") masked = { ...message, content: mask(content) } as ChatMessage;
  else if (Array.isArray(content)) {
    const parts = content.map((part) => (part.type === "text" ? { ...part, text: mask(part.text) } : part));
    masked = { ...message, content: parts } as ChatMessage;
  }
  if (masked.role !== "assistant" || !masked.tool_calls) return masked;
  const toolCalls = masked.tool_calls.map((call) =>
    call.type === "function"
      ? { ...call, function: { ...call.function, arguments: mapArguments(call.function.arguments, mask) } }
      : call,
  );
  return { ...masked, tool_calls: toolCalls };
}

/**
 * Tools whose arguments leave the machine (a web page's host, a drug-interaction service): they get the
 * model's text as written, pseudonyms included, so a prompt-injected model cannot send a real identifier out.
 */
const OFF_MACHINE_TOOLS: ReadonlySet<string> = new Set(["web_fetch", "drug_interaction_check"]);

function revealReply(reply: ChatReply, pseudonyms: Pseudonymiser): ChatReply {
  const content = pseudonyms.reveal(reply.content);
  const toolCalls = reply.toolCalls.map((call): ToolCall => {
    if (OFF_MACHINE_TOOLS.has(call.name)) return call;
    const refused: string[] = [];
    const args = mapArguments(call.arguments, (text) => {
      const revealed = pseudonyms.reveal(text);
      refused.push(...revealed.refused);
      return revealed.text;
    });
    return refused.length > 0 ? { ...call, refusedPseudonyms: refused } : { ...call, arguments: args };
  });
  return {
    content: content.text,
    toolCalls,
    ...(content.refused.length > 0 ? { refusedPseudonyms: content.refused } : {}),
  };
}

/** Tool arguments (JSON) with `change` applied to every string value; text that is not JSON as a whole. */
function mapArguments(json: string, change: (text: string) => string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return change(json);
  }
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return change(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
    return value;
  };
  return JSON.stringify(walk(parsed));
}

/** Provider facts as data: default endpoint, and whether a key is needed (local servers need none). */
export const KNOWN_PROVIDERS: Readonly<Record<string, { apiBase?: string; needsKey: boolean }>> = {
  openrouter: { apiBase: "https://openrouter.ai/api/v1", needsKey: true },
  openai: { apiBase: "https://api.openai.com/v1", needsKey: true },
  deepseek: { apiBase: "https://api.deepseek.com/v1", needsKey: true },
  anthropic: { apiBase: "https://api.anthropic.com/v1", needsKey: true },
  gemini: { apiBase: "https://generativelanguage.googleapis.com/v1beta/openai", needsKey: true },
  groq: { apiBase: "https://api.groq.com/openai/v1", needsKey: true },
  moonshot: { apiBase: "https://api.moonshot.cn/v1", needsKey: true },
  dashscope: { apiBase: "https://dashscope.aliyuncs.com/compatible-mode/v1", needsKey: true },
  zhipu: { apiBase: "https://open.bigmodel.cn/api/paas/v4", needsKey: true },
  siliconflow: { apiBase: "https://api.siliconflow.cn/v1", needsKey: true },
  minimax: { apiBase: "https://api.minimax.chat/v1", needsKey: true },
  aihubmix: { apiBase: "https://aihubmix.com/v1", needsKey: true },
  ollama: { apiBase: "http://127.0.0.1:11434/v1", needsKey: false },
  vllm: { needsKey: false },
  custom: { needsKey: false },
};

/** Gateways that route "vendor/model" names themselves; other providers get the bare model name. */
const ROUTING_GATEWAYS = new Set(["openrouter", "aihubmix"]);

export interface ResolvedProvider {
  name: string;
  apiKey: string;
  apiBase: string;
  model: string;
  extraHeaders: Record<string, string>;
}

/** Picks the configured provider and model, or says in one sentence what to configure. */
export function resolveProvider(config: MedbotConfig): ResolvedProvider | { problem: string } {
  const { provider: wanted, model } = config.agents.defaults;
  const configured = Object.entries(config.providers).filter(([, p]) => p.apiKey || p.apiBase);
  const how =
    "Run `medbot onboard` (or set providers.<name>.apiKey and agents.defaults.model in config.json, " +
    "or MEDBOT_PROVIDERS__<NAME>__API_KEY).";
  let name: string | undefined;
  if (wanted !== "auto") {
    name = wanted;
  } else {
    const prefix = model.split("/")[0];
    name = configured.find(([n]) => n === prefix)?.[0] ?? configured[0]?.[0];
  }
  if (!name) return { problem: `No model provider is configured. ${how}` };
  const settings = config.providers[name];
  const known = KNOWN_PROVIDERS[name];
  const apiBase = settings?.apiBase || known?.apiBase;
  if (!apiBase)
    return { problem: `Provider "${name}" needs providers.${name}.apiBase (its OpenAI-compatible URL).` };
  const needsKey = known?.needsKey ?? !settings?.apiBase;
  if (needsKey && !settings?.apiKey) return { problem: `Provider "${name}" has no API key. ${how}` };
  if (!model) return { problem: `No model is set (agents.defaults.model). ${how}` };
  const bare =
    !ROUTING_GATEWAYS.has(name) && model.startsWith(`${name}/`) ? model.slice(name.length + 1) : model;
  return {
    name,
    apiKey: settings?.apiKey || "not-needed",
    apiBase,
    model: bare,
    extraHeaders: settings?.extraHeaders ?? {},
  };
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Total time for one completion, all attempts and waits included. */
  deadlineMs: number;
  /** Time for one attempt. */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  deadlineMs: 120_000,
  attemptTimeoutMs: 60_000,
};

/** The provider could not give an answer; `userMessage` is safe to show in a chat. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly userMessage: string,
    /** The SDK's error behind it, so the owner can be told what exactly failed (provider-problem.ts). */
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ProviderError";
  }
}

/** The turn was cancelled (/stop or Ctrl-C). */
export class TurnCancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "TurnCancelled";
  }
}

const APOLOGY = "Sorry, I can't reach the model service right now. Please try again in a few minutes.";

type OpenAISdk = typeof OpenAI;
let sdkLoading: Promise<OpenAISdk> | undefined;
/** The SDK (some 500 modules) loads with the first request, so commands and an idle gateway do without it. */
function loadSdk(): Promise<OpenAISdk> {
  sdkLoading ??= import("openai").then((module) => module.default);
  return sdkLoading;
}

/** A ChatProvider over the openai SDK; the SDK's own retries are off so the deadline is ours. */
export function createProvider(
  resolved: ResolvedProvider,
  sampling: MedbotConfig["agents"]["defaults"],
  retry = DEFAULT_RETRY,
): ChatProvider {
  let client: OpenAI | undefined;
  return {
    name: resolved.name,
    model: resolved.model,
    async complete(request) {
      const Sdk = await loadSdk();
      client ??= new Sdk({
        apiKey: resolved.apiKey,
        baseURL: resolved.apiBase,
        defaultHeaders: resolved.extraHeaders,
        maxRetries: 0,
      });
      const started = Date.now();
      let lastProblem = "";
      let lastError: unknown;
      for (let attempt = 1; attempt <= retry.attempts; attempt++) {
        const remaining = retry.deadlineMs - (Date.now() - started);
        if (remaining <= 0) break;
        const budget = Math.min(retry.attemptTimeoutMs, remaining);
        // The SDK's timeout stops at the response headers; this one also covers a body that stalls.
        const attemptTimer = AbortSignal.timeout(budget);
        const signal = request.signal ? AbortSignal.any([request.signal, attemptTimer]) : attemptTimer;
        try {
          const completion = await client.chat.completions.create(
            {
              model: resolved.model,
              messages: request.messages,
              ...(request.tools?.length ? { tools: request.tools } : {}),
              ...samplingFor(resolved.model, sampling),
            },
            { signal, timeout: budget },
          );
          return toReply(completion);
        } catch (error) {
          if (request.signal?.aborted) throw new TurnCancelled();
          const verdict: Verdict = attemptTimer.aborted
            ? { retry: true, problem: `no complete reply within ${budget} ms` }
            : classify(error, Sdk);
          lastProblem = verdict.problem;
          lastError = error;
          if (!verdict.retry) {
            throw new ProviderError(verdict.problem, verdict.userMessage ?? APOLOGY, { cause: error });
          }
          if (attempt === retry.attempts) break;
          const wait = Math.min(
            verdict.retryAfterMs ?? jitter(retry.baseDelayMs * 2 ** (attempt - 1)),
            retry.maxDelayMs,
            Math.max(0, retry.deadlineMs - (Date.now() - started)),
          );
          await sleep(wait, request.signal);
        }
      }
      throw new ProviderError(`provider ${resolved.name} gave no answer: ${lastProblem}`, APOLOGY, {
        cause: lastError,
      });
    },
  };
}

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...) refuse max_tokens and any temperature but the
 * default: they take max_completion_tokens instead. Every other model gets both settings as configured.
 */
export function samplingFor(
  model: string,
  sampling: Pick<MedbotConfig["agents"]["defaults"], "maxTokens" | "temperature">,
): { max_tokens: number; temperature: number } | { max_completion_tokens: number } {
  return /^(?:openai\/)?(?:o\d|gpt-5)/i.test(model)
    ? { max_completion_tokens: sampling.maxTokens }
    : { max_tokens: sampling.maxTokens, temperature: sampling.temperature };
}

function toReply(completion: OpenAI.Chat.ChatCompletion): ChatReply {
  const message = completion.choices[0]?.message;
  if (!message) throw new ProviderError("reply without choices", APOLOGY);
  const toolCalls = (message.tool_calls ?? []).flatMap((call) =>
    call.type === "function"
      ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }]
      : [],
  );
  return { content: withoutReasoning(message.content ?? ""), toolCalls };
}

/** Drops `<think>...</think>` blocks some local models put in the answer: reasoning never reaches a chat. */
function withoutReasoning(content: string): string {
  return content.replace(/<think>[\s\S]*?<\/think>/gi, "").trim();
}

interface Verdict {
  retry: boolean;
  problem: string;
  retryAfterMs?: number;
  userMessage?: string;
}

function classify(error: unknown, Sdk: OpenAISdk): Verdict {
  if (error instanceof Sdk.APIConnectionError) return { retry: true, problem: error.message };
  if (error instanceof Sdk.APIError) {
    const status = error.status ?? 0;
    const problem = `HTTP ${status}: ${error.message}`;
    if (status === 429 || status === 408 || status >= 500) {
      return { retry: true, problem, retryAfterMs: retryAfter(error.headers) };
    }
    if (status === 401 || status === 403) {
      return {
        retry: false,
        problem,
        userMessage:
          "The model service refused medbot's API key. The owner should check the provider settings.",
      };
    }
    if (status === 404) {
      return {
        retry: false,
        problem,
        userMessage:
          "The model service does not know medbot's model or address. The owner should check agents.defaults.model and the provider's apiBase.",
      };
    }
    return { retry: false, problem };
  }
  return { retry: false, problem: error instanceof Error ? error.message : String(error) };
}

function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get("retry-after-ms"));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const seconds = Number(headers?.get("retry-after"));
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  return undefined;
}

function jitter(ms: number): number {
  return ms * (0.75 + Math.random() * 0.5);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new TurnCancelled());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new TurnCancelled());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
