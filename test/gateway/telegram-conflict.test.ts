// Two processes polling one bot token: Telegram answers the second getUpdates with 409 Conflict. Retrying
// cannot help (each poll cuts the other off), so the channel stops for good with a message saying why.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { TelegramAdapter } from "../../src/channels/telegram.js";
import { configSchema } from "../../src/config/schema.js";
import { FakeTelegram } from "../support/fake-telegram.js";
import { ScriptedAgent, shutDown, startGateway, type TestGateway, tempDatabaseFile } from "./harness.js";

const CONFLICT = {
  status: 409,
  description:
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
};

let fake: FakeTelegram | undefined;
const running: TestGateway[] = [];
afterEach(async () => {
  for (const instance of running.splice(0)) await shutDown(instance);
  await fake?.close();
});

describe("Telegram 409 Conflict (another process polls the same token)", () => {
  it("stops the channel for good, logs why at error level and shows it in /healthz", async () => {
    fake = await FakeTelegram.start();
    fake.failNext("getUpdates", ...Array.from({ length: 50 }, () => CONFLICT));
    const settings = configSchema.parse({
      channels: { telegram: { enabled: true, token: fake.token, apiRoot: fake.apiRoot } },
    }).channels.telegram;
    const adapter = new TelegramAdapter(settings, { pollTimeoutS: 5, backoffMs: 5, failuresUntilFailed: 3 });
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const instance = await startGateway(tempDatabaseFile(), new ScriptedAgent(), [], {
      channels: [adapter],
      logger,
    });
    running.push(instance);

    const conflict = () => lines.map((l) => JSON.parse(l)).find((l) => /another process/.test(l.msg ?? ""));
    await expect.poll(conflict, { timeout: 5000 }).toBeDefined();
    expect(conflict().level).toBe(50);
    expect(conflict().msg).toMatch(/Only one medbot gateway \(or other bot\) may poll a token/);
    // Given time for several watch ticks and restarts, nothing polls again.
    const polls = fake.callsOf("getUpdates").length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.callsOf("getUpdates").length).toBe(polls);
    expect(polls).toBeLessThanOrEqual(2);

    const report = instance.gateway.report();
    expect(report.channels.telegram).toBe("failed");
    expect(report.problems?.telegram).toMatch(/409/);
    expect(report.status).toBe("degraded");
  });
});
