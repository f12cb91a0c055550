// The part of a channel that is the same on every platform, written once: its state for /healthz and the
// gateway's supervisor, the problem that stops it for good, the signal stop() aborts, and the receive loop
// that backs off after a failure, reports "failed" after several in a row and ends on a fatal one. An
// adapter only says how its platform connects, receives and sends.
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.js";
import type { ChannelState } from "./types.js";

/** Thrown by a round to end the receive loop as "failed" without a problem: the gateway restarts the channel. */
export class ChannelGaveUp extends Error {}

/** What one round of receiving came to, when it did not throw. */
export type RoundOutcome =
  /** The transport works and everything offered was taken: go on at once. */
  | "received"
  /** The transport works but the inbox did not take a message: wait a backoff and offer it again. */
  | "held";

/** One channel's receive loop: a round is one poll, one check of a mailbox, one gateway session. */
export interface ReceiveLoop {
  /** Aborted when the channel or the gateway stops. */
  signal: AbortSignal;
  /** The waits after failed rounds. */
  backoff: BackoffPolicy;
  /** Consecutive failed rounds after which the state is "failed" (the loop goes on; the gateway may restart). */
  failuresUntilFailed: number;
  /**
   * One round. `healthy` forgets the failures so far (a connection that came up before it dropped again).
   * Rejects when the transport failed; the loop then backs off and tries again.
   */
  round(healthy: () => void): Promise<RoundOutcome>;
  /** Why a failure can never heal (a wrong token): the loop ends and the channel reports it as its problem. */
  fatal?(error: unknown): string | undefined;
  /** Called after each failed round, before the wait: to close what broke, and to log. */
  afterFailure?(error: unknown, failures: number): void;
  /** The wait after a failure, when the platform says how long (retry_after); otherwise the backoff. */
  delayMs?(error: unknown, failures: number): number | undefined;
}

/** A channel's state, problem and stop signal, and the loop its start() left running. */
export class ChannelLifecycle {
  private current: ChannelState = "stopped";
  private fatal: string | undefined;
  private aborter = new AbortController();
  private running: Promise<void> | undefined;

  /** Transport liveness, for /healthz and the supervisor. */
  state(): ChannelState {
    return this.current;
  }

  /** Why the channel stopped for good; undefined while restarting may help. */
  problem(): string | undefined {
    return this.fatal;
  }

  /** Aborted by stop(): cancels waits and requests of this run. */
  get stopSignal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Notes what the transport is doing now. */
  mark(state: ChannelState): void {
    this.current = state;
  }

  /** Marks the channel failed; with a problem when no restart can help. */
  fail(problem?: string): void {
    this.current = "failed";
    if (problem) this.fatal = problem;
  }

  /** Begins a start: "starting", no problem, a fresh stop signal, joined with the gateway's when given. */
  begin(gateway?: AbortSignal): AbortSignal {
    this.current = "starting";
    this.fatal = undefined;
    this.aborter = new AbortController();
    return gateway ? AbortSignal.any([this.aborter.signal, gateway]) : this.aborter.signal;
  }

  /** Keeps what start() left running in the background, for stop() to wait for. */
  run(background: Promise<void>): void {
    this.running = background;
  }

  /** Runs the receive loop in the background (see receiveLoop). */
  receive(loop: ReceiveLoop): void {
    this.run(receiveLoop(this, loop));
  }

  /** Aborts the stop signal and waits for the background work; then "stopped", unless it failed. */
  async stop(): Promise<void> {
    this.aborter.abort();
    await this.running;
    this.running = undefined;
    if (this.current !== "failed") this.current = "stopped";
  }
}

/**
 * Runs rounds until the signal aborts. A round that throws counts a failure (state "failed" from
 * failuresUntilFailed on), one that holds counts towards the wait only; both wait a backoff first. A fatal
 * error or ChannelGaveUp ends the loop as "failed". The state is "stopped" at the end unless it failed.
 */
export async function receiveLoop(life: ChannelLifecycle, loop: ReceiveLoop): Promise<void> {
  let failures = 0;
  const healthy = () => {
    failures = 0;
  };
  while (!loop.signal.aborted) {
    let error: unknown;
    try {
      if ((await loop.round(healthy)) === "received") {
        failures = 0;
        continue;
      }
      failures++;
    } catch (thrown) {
      if (loop.signal.aborted) break;
      failures++;
      if (thrown instanceof ChannelGaveUp) return life.fail();
      const problem = loop.fatal?.(thrown);
      if (problem) return life.fail(problem);
      loop.afterFailure?.(thrown, failures);
      if (failures >= loop.failuresUntilFailed) life.fail();
      error = thrown;
    }
    await sleep(loop.delayMs?.(error, failures) ?? backoffDelay(failures - 1, loop.backoff), loop.signal);
  }
  if (life.state() !== "failed") life.mark("stopped");
}
