// The model provider: retried on 429 / 5xx / dropped connections / timeouts inside a deadline, then a short apology.
import { afterEach, describe, expect, it } from "vitest";
import { createProvider, resolveProvider, samplingFor } from "../../src/agent/provider.js";
import { configSchema } from "../../src/config/schema.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { ALICE, type Harness, QUICK_RETRY, startAgent } from "./harness.js";

const APOLOGY = /^Sorry, I can't reach the model service right now\. Please try again in a few minutes\.$/;

/** What a reply shown in a chat must never contain after a provider failure. */
function expectNoInternals(reply: string): void {
  expect(reply).not.toMatch(/Error:|\bat .+:\d+:\d+|HTTP \d{3}|upstream-secret|stack/i);
}

describe("provider retries", () => {
  let h: Harness;
  afterEach(() => h.close());

  it.each([
    ["429 with retry-after-ms", { status: 429, headers: { "retry-after-ms": "20" } }],
    ["500", { status: 500 }],
    ["503", { status: 503 }],
    ["a dropped connection", { hangUp: true as const }],
    ["an attempt that outlives attemptTimeoutMs", { delayMs: 10_000, reply: { content: "too late" } }],
    ["a reply whose body stalls after the headers", { stallBody: true as const }],
  ])("retries after %s and then answers", async (_what, failure) => {
    h = await startAgent({ retry: { attemptTimeoutMs: 1_000 } });
    h.fake.enqueue(failure, { content: "Here is your answer." });

    expect(await h.send("hello")).toBe("Here is your answer.");
    expect(h.fake.chatRequests).toHaveLength(2);
    expect(h.agent.sessions.live(ALICE)).toHaveLength(2);
  });

  it("retries several times in a row before succeeding", async () => {
    h = await startAgent({ retry: { attempts: 4 } });
    h.fake.enqueue({ status: 502 }, { status: 503 }, { hangUp: true }, { content: "finally" });

    expect(await h.send("hello")).toBe("finally");
    expect(h.fake.chatRequests).toHaveLength(4);
  });

  it("gives up after the configured attempts with a short apology and stores nothing", async () => {
    h = await startAgent({ retry: { attempts: 3 } });
    h.fake.onRequest(() => ({
      status: 503,
      body: { error: { message: "upstream-secret: node eu-7 overloaded" } },
    }));

    const reply = await h.send("my chest hurts when I climb stairs");

    expect(reply).toMatch(APOLOGY);
    expectNoInternals(reply);
    expect(h.fake.chatRequests).toHaveLength(3);
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
    // The owner can still find out why, outside the chat.
    expect(h.warnings.join("\n")).toMatch(/503/);
  });

  it("does not retry a refused API key and says what to check", async () => {
    h = await startAgent();
    h.fake.onRequest(() => ({
      status: 401,
      body: { error: { message: "upstream-secret: bad key sk-123" } },
    }));

    const reply = await h.send("hello");

    expect(h.fake.chatRequests).toHaveLength(1);
    expect(reply).toMatch(/refused medbot's API key/);
    expect(reply).not.toContain("sk-123");
    expectNoInternals(reply);
    expect(h.agent.sessions.live(ALICE)).toEqual([]);
  });

  it("does not retry an unknown model or endpoint and says what to check", async () => {
    h = await startAgent();
    h.fake.onRequest(() => ({ status: 404, body: { error: { message: "upstream-secret: no such model" } } }));

    const reply = await h.send("hello");

    expect(h.fake.chatRequests).toHaveLength(1);
    expect(reply).toMatch(/agents\.defaults\.model.*apiBase/);
    expectNoInternals(reply);
  });

  it("does not retry a request the provider rejects as invalid", async () => {
    h = await startAgent();
    h.fake.onRequest(() => ({ status: 400, body: { error: { message: "upstream-secret: bad request" } } }));

    const reply = await h.send("hello");

    expect(h.fake.chatRequests).toHaveLength(1);
    expect(reply).toMatch(APOLOGY);
  });

  it("stops retrying when the total deadline is spent, even with attempts left", async () => {
    h = await startAgent({ retry: { attempts: 10, deadlineMs: 400, attemptTimeoutMs: 5_000 } });
    h.fake.onRequest(() => ({ delayMs: 10_000, reply: { content: "too late" } }));

    const reply = await h.send("hello");

    expect(reply).toMatch(APOLOGY);
    // One attempt uses up the deadline; a second may just start as it ends. Never all ten.
    expect(h.fake.chatRequests.length).toBeLessThanOrEqual(2);
  });
});

describe("createProvider", () => {
  let fake: FakeOpenAI;
  afterEach(() => fake.close());

  it("sends the model, key, sampling settings and extra headers to the endpoint", async () => {
    fake = await FakeOpenAI.start();
    const config = configSchema.parse({
      providers: { custom: { apiKey: "k-1", apiBase: fake.url, extraHeaders: { "X-Title": "medbot" } } },
      agents: { defaults: { provider: "custom", model: "qwen2.5", maxTokens: 777, temperature: 0.5 } },
    });
    const resolved = resolveProvider(config);
    if ("problem" in resolved) throw new Error(resolved.problem);
    const provider = createProvider(resolved, config.agents.defaults, QUICK_RETRY);

    const reply = await provider.complete({ messages: [{ role: "user", content: "hi" }] });

    expect(reply).toEqual({ content: "echo: hi", toolCalls: [] });
    const [request] = fake.chatRequests;
    expect(request!.headers.authorization).toBe("Bearer k-1");
    expect(request!.headers["x-title"]).toBe("medbot");
    expect(request!.body).toMatchObject({ model: "qwen2.5", max_tokens: 777, temperature: 0.5 });
    // No tools offered means no empty tools array (some servers reject one).
    expect(request!.body.tools).toBeUndefined();
  });

  it("sends reasoning models max_completion_tokens and no temperature, which they refuse", () => {
    const sampling = { maxTokens: 900, temperature: 0.2 };
    for (const model of ["o3-mini", "o1", "gpt-5", "openai/o4-mini", "GPT-5.1"]) {
      expect(samplingFor(model, sampling)).toEqual({ max_completion_tokens: 900 });
    }
    for (const model of [
      "gpt-4o",
      "qwen2.5:14b",
      "anthropic/claude-sonnet-4.5",
      "deepseek-chat",
      "solar-pro",
    ]) {
      expect(samplingFor(model, sampling)).toEqual({ max_tokens: 900, temperature: 0.2 });
    }
  });
});

describe("resolveProvider", () => {
  const resolve = (input: unknown) => resolveProvider(configSchema.parse(input));

  it("in auto mode picks the provider named by the model's prefix among the configured ones", () => {
    const resolved = resolve({
      providers: { openrouter: { apiKey: "or-key" }, deepseek: { apiKey: "ds-key" } },
      agents: { defaults: { model: "deepseek/deepseek-chat" } },
    });
    expect(resolved).toMatchObject({
      name: "deepseek",
      apiKey: "ds-key",
      apiBase: "https://api.deepseek.com/v1",
      model: "deepseek-chat",
    });
  });

  it("in auto mode falls back to the one configured provider, keeping vendor/model for a gateway", () => {
    const resolved = resolve({
      providers: { openrouter: { apiKey: "or-key" }, openai: { apiKey: "" } },
      agents: { defaults: { model: "anthropic/claude-sonnet-4" } },
    });
    expect(resolved).toMatchObject({
      name: "openrouter",
      apiBase: "https://openrouter.ai/api/v1",
      model: "anthropic/claude-sonnet-4",
    });
  });

  it("keeps the prefix for openrouter even when it names openrouter's own models", () => {
    const resolved = resolve({
      providers: { openrouter: { apiKey: "or-key" } },
      agents: { defaults: { provider: "openrouter", model: "openai/gpt-4o-mini" } },
    });
    expect(resolved).toMatchObject({ name: "openrouter", model: "openai/gpt-4o-mini" });
  });

  it("strips the provider prefix for a direct provider chosen explicitly", () => {
    const resolved = resolve({
      providers: { openai: { apiKey: "sk" } },
      agents: { defaults: { provider: "openai", model: "openai/gpt-4o-mini" } },
    });
    expect(resolved).toMatchObject({ name: "openai", model: "gpt-4o-mini" });
  });

  it("uses a local server without a key", () => {
    const resolved = resolve({
      providers: { ollama: { apiBase: "http://127.0.0.1:11434/v1" } },
      agents: { defaults: { model: "llama3.1" } },
    });
    expect(resolved).toMatchObject({
      name: "ollama",
      apiBase: "http://127.0.0.1:11434/v1",
      model: "llama3.1",
    });
  });

  it("says how to configure a provider when none is", () => {
    const resolved = resolve({ agents: { defaults: { model: "gpt-4o" } } });
    expect(resolved).toEqual({ problem: expect.stringMatching(/No model provider is configured.*onboard/s) });
  });

  it("names the provider whose API key is missing", () => {
    const resolved = resolve({
      providers: { openai: { apiKey: "" } },
      agents: { defaults: { provider: "openai", model: "gpt-4o" } },
    });
    expect(resolved).toEqual({ problem: expect.stringMatching(/"openai" has no API key/) });
  });

  it("names the missing model setting", () => {
    const resolved = resolve({ providers: { openai: { apiKey: "sk" } } });
    expect(resolved).toEqual({ problem: expect.stringContaining("agents.defaults.model") });
  });

  it("names the missing apiBase of a custom provider", () => {
    const resolved = resolve({
      providers: { custom: { apiKey: "k" } },
      agents: { defaults: { provider: "custom", model: "m" } },
    });
    expect(resolved).toEqual({ problem: expect.stringContaining("providers.custom.apiBase") });
  });
});
