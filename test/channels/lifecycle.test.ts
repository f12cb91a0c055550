// The one channel lifecycle and backoff every adapter runs on: the receive loop backs off, turns "failed"
// after N failures in a row, ends on a fatal problem, and stop() cuts a backoff short. No adapter keeps a
// backoff of its own: a doubling delay in src/channels/ outside backoff.ts fails here.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { backoffDelay, restartDelay, retryCall } from "../../src/channels/backoff.js";
import { ChannelGaveUp, ChannelLifecycle, type RoundOutcome } from "../../src/channels/lifecycle.js";

const POLICY = { baseMs: 5, maxMs: 20 };

/** A lifecycle whose loop runs the given rounds in turn, then waits (as a quiet poll would) until stopped. */
function loopOf(
  rounds: Array<() => RoundOutcome | Promise<RoundOutcome>>,
  fatal?: (error: unknown) => string | undefined,
) {
  const life = new ChannelLifecycle();
  const signal = life.begin();
  life.mark("running");
  let index = 0;
  life.receive({
    signal,
    backoff: POLICY,
    failuresUntilFailed: 3,
    round: async () => {
      const next = rounds[index++];
      if (next) return next();
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      return "received";
    },
    ...(fatal ? { fatal } : {}),
  });
  return { life, done: () => index };
}

const fail = () => {
  throw new Error("network down");
};

describe("channel lifecycle", () => {
  it("stays running below the failure threshold, is failed at it, and running again once a round works", async () => {
    const states: string[] = [];
    const { life } = loopOf([
      fail,
      fail,
      () => {
        states.push(life.state());
        return fail();
      },
      () => {
        states.push(life.state());
        life.mark("running");
        return "received";
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(states).toEqual(["running", "failed"]);
    expect(life.state()).toBe("running");
    await life.stop();
    expect(life.state()).toBe("stopped");
  });

  it("does not count a held message towards failed", async () => {
    const { life, done } = loopOf([() => "held", () => "held", () => "held", () => "held"]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(done()).toBe(5);
    expect(life.state()).toBe("running");
    await life.stop();
  });

  it("ends on a fatal error with the problem, and on ChannelGaveUp without one", async () => {
    const fatal = loopOf([fail], () => "the token was refused; check channels.x.token");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fatal.life.state()).toBe("failed");
    expect(fatal.life.problem()).toBe("the token was refused; check channels.x.token");
    expect(fatal.done()).toBe(1);
    await fatal.life.stop();
    expect(fatal.life.state()).toBe("failed");

    const gaveUp = loopOf([
      () => {
        throw new ChannelGaveUp("banned");
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gaveUp.life.state()).toBe("failed");
    expect(gaveUp.life.problem()).toBeUndefined();
    expect(gaveUp.done()).toBe(1);
  });

  it("stop() does not wait out a backoff", async () => {
    const life = new ChannelLifecycle();
    const signal = life.begin();
    life.receive({ signal, backoff: { baseMs: 60_000, maxMs: 60_000 }, failuresUntilFailed: 5, round: fail });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await life.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("backoff", () => {
  it("doubles up to the cap; restarts are jittered to 50-100 %", () => {
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, POLICY))).toEqual([5, 10, 20, 20]);
    expect(restartDelay(1, POLICY, () => 0)).toBe(5);
    expect(restartDelay(1, POLICY, () => 1)).toBe(10);
  });

  it("retries a call only while it may heal, and not after the signal aborted", async () => {
    const aborter = new AbortController();
    let calls = 0;
    const retry = {
      tries: 3,
      retriable: (error: unknown) => error instanceof Error && error.message === "503",
      delayMs: () => 1,
      signal: aborter.signal,
    };
    await expect(
      retryCall(async () => (++calls < 3 ? Promise.reject(new Error("503")) : "sent"), retry),
    ).resolves.toBe("sent");
    calls = 0;
    const refused = (status: string) => () => {
      calls++;
      return Promise.reject(new Error(status));
    };
    await expect(retryCall(refused("400"), retry)).rejects.toThrow("400");
    expect(calls).toBe(1);
    aborter.abort();
    calls = 0;
    await expect(retryCall(refused("503"), retry)).rejects.toThrow("503");
    expect(calls).toBe(1);
  });

  it("is the only backoff in src/channels: no adapter doubles a delay of its own", () => {
    const folder = path.join(import.meta.dirname, "../../src/channels");
    const offenders = readdirSync(folder)
      .filter((file) => file.endsWith(".ts") && file !== "backoff.ts")
      .filter((file) => {
        const source = readFileSync(path.join(folder, file), "utf8");
        return /\b2\s*\*\*/.test(source);
      });
    expect(offenders).toEqual([]);
  });
});
