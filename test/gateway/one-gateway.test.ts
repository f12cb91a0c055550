// Issue 12: one gateway per data folder. A second `medbot gateway` on the same folder, even with another
// health port, is refused naming the running one; after the first is killed with SIGKILL the kernel has
// released its lock and a new gateway starts.
import * as fs from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { FakeTelegram } from "../support/fake-telegram.js";
import { freePort, health, spawnGateway } from "../support/gateway-process.js";
import { gatewayTestScope } from "../support/gateway-scope.js";
import { fakeProviderConfig, tempHome, writeConfig } from "../support/medbot-cli.js";

const { processes, cleanups } = gatewayTestScope();

async function untilHealthy(port: number): Promise<void> {
  await vi.waitFor(async () => expect(await health(port)).toMatchObject({ status: "ok" }), {
    timeout: 20_000,
    interval: 50,
  });
}

describe("one gateway per data folder", () => {
  it("refuses a second gateway naming the first, and starts again after the first is killed -9", async () => {
    const telegram = await FakeTelegram.start();
    cleanups.push(() => telegram.close());
    const home = tempHome("medbot-one-gateway-");
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const [firstPort, otherPort] = [await freePort(), await freePort()];
    writeConfig(home, {
      ...fakeProviderConfig("http://127.0.0.1:9/v1"),
      channels: {
        telegram: telegram.channelConfig(["1"]),
      },
      gateway: { port: firstPort },
    });
    const first = spawnGateway(home);
    processes.push(first);
    await untilHealthy(firstPort);

    const second = spawnGateway(home, { MEDBOT_GATEWAY__PORT: String(otherPort) });
    processes.push(second);
    // Today's code lets it run: give it a while to refuse rather than waiting for the test's timeout.
    const refused = new Promise((resolve) => setTimeout(() => resolve("still running"), 15_000));
    expect(await Promise.race([second.exited, refused])).toBe(1);
    expect(second.log()).toContain(`another medbot gateway is already running on the data folder ${home}`);
    expect(second.log()).toContain(`pid ${first.child.pid}`);
    expect(second.log()).toContain(`health http://127.0.0.1:${firstPort}/healthz`);
    expect(await health(otherPort)).toBeUndefined();
    expect(await health(firstPort)).toMatchObject({ status: "ok" });

    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    const third = spawnGateway(home, { MEDBOT_GATEWAY__PORT: String(otherPort) });
    processes.push(third);
    await untilHealthy(otherPort);
    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  }, 60_000);
});
