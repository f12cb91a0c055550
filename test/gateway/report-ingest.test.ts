// Issue 12's proof for reports: a 600 KB PDF of 100,000 pages sent to a running `medbot gateway` is refused
// with the page count, while /healthz and another person's chat keep answering (it used to freeze both).
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, type GatewayProcess, health, spawnGateway } from "../support/gateway-process.js";
import { manyPagePdf } from "../support/many-page-pdf.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const ANNA = { id: 501, first_name: "Anna" };
const BOB = { id: 502, first_name: "Bob" };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Anna's request files the PDF; the tool's answer is passed on as the reply; anyone else gets a greeting. */
function model(request: RecordedRequest) {
  const last = request.body.messages.at(-1)!;
  if (last.role === "tool") return { content: `Report: ${last.content}` };
  if (last.content?.includes("scan-pack")) {
    return {
      toolCalls: [{ name: "ingest_report", arguments: { member: "dad", path: "inbox/scan-pack.pdf" } }],
    };
  }
  return { content: "Hello Bob" };
}

/** How long /healthz takes to answer, in ms (Infinity when it does not). */
async function healthLatency(port: number): Promise<number> {
  const started = performance.now();
  return (await health(port)) === undefined ? Number.POSITIVE_INFINITY : performance.now() - started;
}

describe("a 100,000-page PDF sent to medbot gateway", () => {
  it("is refused with its page count while /healthz and another chat keep answering", async () => {
    const telegram = await FakeTelegram.start();
    const openai = await FakeOpenAI.start();
    const home = tempHome("medbot-gateway-report-");
    cleanups.push(
      () => telegram.close(),
      () => openai.close(),
      () => fs.rmSync(home, { recursive: true, force: true }),
    );
    openai.onRequest(model);
    const port = await freePort();
    writeConfig(home, {
      ...fakeProviderConfig(openai.url),
      channels: {
        telegram: telegram.channelConfig(["501", "502"]),
      },
      people: {
        anna: { identities: ["telegram:501"], members: "*" },
        bob: { identities: ["telegram:502"], members: [] },
      },
      gateway: { port },
    });
    expect((await runMedbot(["family", "add", "Dad"], { home })).code).toBe(0);
    const inbox = path.join(home, "workspace", "inbox");
    fs.mkdirSync(inbox, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(inbox, "scan-pack.pdf"), manyPagePdf(100_000), { mode: 0o600 });

    const gateway: GatewayProcess = spawnGateway(home);
    cleanups.unshift(() => {
      if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
    });
    await vi.waitFor(
      async () => expect(await health(port)).toMatchObject({ channels: { telegram: "running" } }),
      { timeout: 30_000, interval: 50 },
    );

    telegram.userSays(ANNA.id, ANNA, "please file scan-pack.pdf for Dad");
    const toolAnswered = () => openai.requests.some((r) => r.body.messages.at(-1)?.role === "tool");
    await vi.waitFor(() => expect(openai.requests).toHaveLength(1), { timeout: 20_000, interval: 10 });
    telegram.userSays(BOB.id, BOB, "hi");

    // While the PDF is read: /healthz answers quickly, and Bob gets his reply before Anna's report is done.
    const latencies: number[] = [];
    let bobAnsweredDuringRead = false;
    while (!toolAnswered()) {
      latencies.push(await healthLatency(port));
      if (telegram.sentTo(BOB.id).length > 0 && !toolAnswered()) bobAnsweredDuringRead = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Typically under 20 ms; the bound leaves room for a loaded 2-core machine (the frozen gateway took minutes).
    expect(latencies.length).toBeGreaterThan(5);
    expect(Math.max(...latencies), latencies.map(Math.round).join(" ")).toBeLessThan(500);
    expect(bobAnsweredDuringRead).toBe(true);

    await vi.waitFor(() => expect(telegram.sentTo(ANNA.id)).toHaveLength(1), { timeout: 20_000 });
    expect(String(telegram.sentTo(ANNA.id)[0]?.text)).toContain(
      'The PDF "scan-pack.pdf" has 100,000 pages; medbot reads at most 500; nothing was stored.',
    );
    expect(fs.existsSync(path.join(home, "workspace", "family", "dad", "reports"))).toBe(false);
    gateway.child.kill("SIGTERM");
    expect(await gateway.exited).toBe(0);
  }, 120_000);
});
