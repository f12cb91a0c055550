// What the owner is told when the model provider fails at the terminal (`agent -m`, `status --check`): the
// failure in words (connection refused, key rejected, model not found) with the address and config key at fault.
import type { MedbotConfig } from "../config/schema.js";
import { createProvider, type ResolvedProvider } from "./provider.js";

/** Fields of the SDK's errors and Node's system errors that say what failed. */
interface FailureFacts {
  status?: number;
  /** A system error code (ECONNREFUSED) or the API's own (model_not_found). */
  codes: string[];
  messages: string[];
}

/** Walks `error` and its causes (the SDK wraps fetch, which wraps the socket error). */
function factsOf(error: unknown): FailureFacts {
  const facts: FailureFacts = { codes: [], messages: [] };
  let cursor: unknown = error;
  for (let depth = 0; depth < 6 && cursor instanceof Error; depth++) {
    const fields = cursor as Error & { status?: unknown; code?: unknown };
    if (typeof fields.status === "number" && facts.status === undefined) facts.status = fields.status;
    if (typeof fields.code === "string") facts.codes.push(fields.code);
    facts.messages.push(cursor.message);
    cursor = cursor.cause;
  }
  return facts;
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name could not be looked up",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

/** One sentence naming what failed, where, and the config key to check. */
export function describeProviderFailure(error: unknown, provider: ResolvedProvider): string {
  const { status, codes, messages } = factsOf(error);
  const base = `API base ${provider.apiBase}`;
  const baseKey = `providers.${provider.name}.apiBase`;
  const keyKey = `providers.${provider.name}.apiKey`;
  const unreachable = codes.map((code) => UNREACHABLE[code]).find(Boolean);
  if (unreachable) return `${unreachable} at ${base}: is the server running, and is ${baseKey} right?`;
  if (status === 401 || status === 403) {
    return `the API key was rejected (HTTP ${status}) at ${base}: check ${keyKey}.`;
  }
  if (status === 404) {
    const aboutModel = codes.includes("model_not_found") || messages.some((m) => /model/i.test(m));
    return aboutModel
      ? `model "${provider.model}" not found (HTTP 404) at ${base}: check agents.defaults.model.`
      : `nothing found (HTTP 404) at ${base}: check ${baseKey} and agents.defaults.model.`;
  }
  if (status === 429) return `the provider is rate-limiting or out of quota (HTTP 429) at ${base}.`;
  if (status !== undefined && status >= 500) return `the provider failed (HTTP ${status}) at ${base}.`;
  if (status !== undefined)
    return `the provider refused the request (HTTP ${status}) at ${base}: ${messages[0]}`;
  return `no answer from ${base}: ${messages[0] ?? String(error)}`;
}

/** One request, no retries: the check waits this long for an answer. */
const CHECK_TIMEOUT_MS = 30_000;

/** The outcome of `checkProvider`: fine, or what is wrong in one sentence. */
export type ProviderCheck = { ok: true; apiBase: string; model: string } | { ok: false; problem: string };

/**
 * Sends exactly one small chat request (no retries, a few tokens, nothing of the household's) to see that the
 * address answers, the key is accepted and the model exists.
 */
export async function checkProvider(
  provider: ResolvedProvider,
  defaults: MedbotConfig["agents"]["defaults"],
): Promise<ProviderCheck> {
  const once = createProvider(
    provider,
    { ...defaults, maxTokens: 16 },
    {
      attempts: 1,
      baseDelayMs: 0,
      maxDelayMs: 0,
      deadlineMs: CHECK_TIMEOUT_MS,
      attemptTimeoutMs: CHECK_TIMEOUT_MS,
    },
  );
  try {
    await once.complete({ messages: [{ role: "user", content: "Reply with the word OK." }] });
    return { ok: true, apiBase: provider.apiBase, model: provider.model };
  } catch (error) {
    return { ok: false, problem: describeProviderFailure(error, provider) };
  }
}
