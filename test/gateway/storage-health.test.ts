// Issue 12: /healthz says "degraded", and the log says why, while the database cannot be written (read-only,
// or full), instead of "ok" while nothing can be stored; it says "ok" again once writes work.
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { health } from "../support/gateway-process.js";
import { MemoryChannel } from "../support/memory-channel.js";
import { ScriptedAgent, shutDown, startGateway, type TestGateway, tempDatabaseFile } from "./harness.js";

const running: TestGateway[] = [];
afterEach(async () => {
  for (const instance of running.splice(0)) await shutDown(instance);
});

/** A gateway that probes storage on every /healthz, with its warn lines captured. */
async function gatewayWithLog(): Promise<{
  instance: TestGateway;
  channel: MemoryChannel;
  warnings: string[];
}> {
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        const entry = JSON.parse(line) as { level: number; msg: string };
        if (entry.level >= 40) warnings.push(entry.msg);
      }
      done();
    },
  });
  const channel = new MemoryChannel();
  const instance = await startGateway(tempDatabaseFile(), new ScriptedAgent(), [channel], {
    logger: pino({ level: "info" }, sink),
    storageProbeIntervalMs: 0,
  });
  running.push(instance);
  return { instance, channel, warnings };
}

async function healthz(instance: TestGateway): Promise<{ status: string; storage?: string }> {
  return (await health(instance.gateway.healthPort!)) as { status: string; storage?: string };
}

describe("/healthz and storage", () => {
  it("reports degraded with the reason while the database is read-only, and ok once it is writable", async () => {
    const { instance, warnings } = await gatewayWithLog();
    expect(await healthz(instance)).toMatchObject({ status: "ok" });

    instance.db.pragma("query_only = ON");
    const degraded = await healthz(instance);
    expect(degraded.status).toBe("degraded");
    expect(degraded.storage).toMatch(/^the database cannot be written \(SQLITE_READONLY/);
    expect(warnings.some((line) => line.startsWith("storage degraded: the database cannot be written"))).toBe(
      true,
    );

    instance.db.pragma("query_only = OFF");
    expect(await healthz(instance)).not.toHaveProperty("storage");
    expect((await healthz(instance)).status).toBe("ok");
  });

  it("reports degraded once the database is full (a message can no longer be stored), and recovers", async () => {
    const { instance, channel, warnings } = await gatewayWithLog();
    const pages = instance.db.pragma("page_count", { simple: true }) as number;
    instance.db.pragma(`max_page_count = ${pages}`);

    // Messages are stored until the pages left are used up; then delivery fails (the platform redelivers later).
    let refusal: unknown;
    for (let n = 0; n < 200 && !refusal; n++)
      await channel
        .deliver({ text: `weight log ${n} ${"64.2 kg ".repeat(1_500)}`, messageId: `w${n}` })
        .catch((error: unknown) => {
          refusal = error;
        });
    expect(String(refusal)).toMatch(/full/);
    const degraded = await healthz(instance);
    expect(degraded.status).toBe("degraded");
    expect(degraded.storage).toMatch(/full/);
    expect(warnings.some((line) => line.startsWith("storage degraded:") && line.includes("full"))).toBe(true);

    instance.db.pragma("max_page_count = 1073741823");
    expect(await healthz(instance)).toMatchObject({ status: "ok" });
    expect(await channel.deliver({ text: "weight 64.2 kg" })).toBe("stored");
  });

  it("stays ok while another process holds the write lock (busy is not broken)", async () => {
    const { instance, warnings } = await gatewayWithLog();
    instance.db.pragma("busy_timeout = 50");
    const cli = new Database(instance.file);
    cli.exec("BEGIN IMMEDIATE");
    try {
      expect(await healthz(instance)).toMatchObject({ status: "ok" });
      expect(warnings).toEqual([]);
    } finally {
      cli.exec("ROLLBACK");
      cli.close();
    }
  });
});
