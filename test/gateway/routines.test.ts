// The scheduler inside a running `medbot gateway`: a job added from the CLI (another process) is noticed
// without a restart and delivered to its chat through the real Telegram adapter, once.
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, type GatewayProcess, health, spawnGateway } from "../support/gateway-process.js";
import { fakeProviderConfig, runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const running: GatewayProcess[] = [];
afterEach(() => {
  for (const gateway of running.splice(0)) if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
});

describe("routines in medbot gateway", () => {
  it("delivers a cron job added by the CLI while the gateway runs, once, to the job's chat", async () => {
    const telegram = await FakeTelegram.start();
    try {
      const port = await freePort();
      const home = tempHome("medbot-routines-");
      writeConfig(home, {
        ...fakeProviderConfig("http://127.0.0.1:9/v1"),
        channels: {
          telegram: { enabled: true, token: telegram.token, apiRoot: telegram.apiRoot, allowFrom: ["501"] },
        },
        people: { anna: { identities: ["telegram:501"], members: "*" } },
        gateway: { port },
      });
      const gateway = spawnGateway(home);
      running.push(gateway);
      await vi.waitFor(
        async () => expect(await health(port)).toMatchObject({ channels: { telegram: "running" } }),
        { timeout: 20_000, interval: 50 },
      );

      const at = new Date(Date.now() + 3_000).toISOString();
      const added = await runMedbot(
        [
          "cron",
          "add",
          "--chat",
          "telegram:501",
          "--message",
          "Fasting blood test tomorrow at 09:00",
          "--at",
          at,
        ],
        { home },
      );
      expect(added.stderr).not.toMatch(/error|refus/i);
      expect(added.code).toBe(0);
      expect(telegram.sentTo(501).map((m) => m.text)).toEqual([]);

      await vi.waitFor(() => expect(telegram.sentTo(501)).toHaveLength(1), {
        timeout: 15_000,
        interval: 100,
      });
      expect(String(telegram.sentTo(501)[0]?.text)).toContain("Fasting blood test tomorrow at 09:00");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(telegram.sentTo(501)).toHaveLength(1);

      gateway.child.kill("SIGTERM");
      expect(await gateway.exited).toBe(0);
    } finally {
      await telegram.close();
    }
  });
});
