// The scheduler inside a running `medbot gateway`: a job added from the CLI (another process) is noticed
// without a restart and delivered to its chat through the real Telegram adapter, once; a job whose chat lost
// access before it fired is held, not sent, and `medbot cron list` says why.
import * as fs from "node:fs";
import * as path from "node:path";
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
          telegram: telegram.channelConfig(["501"]),
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

  it("holds a job whose person left allowFrom before it fired: nothing reaches Telegram, cron list says why", async () => {
    const telegram = await FakeTelegram.start();
    try {
      const port = await freePort();
      const home = tempHome("medbot-routines-held-");
      const household = (allowFrom: string[]) => ({
        ...fakeProviderConfig("http://127.0.0.1:9/v1"),
        channels: {
          telegram: telegram.channelConfig(allowFrom),
        },
        people: { anna: { identities: ["telegram:501"], members: "*" } },
        gateway: { port },
      });
      writeConfig(home, household(["501"]));
      const at = new Date(Date.now() + 6_000).toISOString();
      const added = await runMedbot(
        ["cron", "add", "--chat", "telegram:501", "--message", "Stop taking your BP pills", "--at", at],
        { home },
      );
      expect(added.code).toBe(0);
      // The owner takes Anna out of allowFrom; the gateway starts with that config.
      writeConfig(home, household(["777"]));
      const gateway = spawnGateway(home);
      running.push(gateway);
      await vi.waitFor(
        async () => expect(await health(port)).toMatchObject({ channels: { telegram: "running" } }),
        { timeout: 20_000, interval: 50 },
      );
      const reason = "telegram:501 is no longer allowed: telegram:501 is not in channels.telegram.allowFrom";
      const logFile = path.join(home, "logs", "gateway.log");
      await vi.waitFor(
        () => expect(fs.readFileSync(logFile, "utf8")).toContain(`scheduled message held: ${reason}`),
        {
          timeout: 15_000,
          interval: 100,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(telegram.sentTo(501)).toEqual([]);
      expect(fs.readFileSync(logFile, "utf8")).not.toContain("BP pills");

      const listed = await runMedbot(["cron", "list"], { home });
      expect(listed.stdout).toContain(`— held: ${reason}`);
      gateway.child.kill("SIGTERM");
      expect(await gateway.exited).toBe(0);
    } finally {
      await telegram.close();
    }
  });
});
