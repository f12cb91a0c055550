// Waiting between retries, written once for every channel loop and for the gateway's restarts and resends:
// delays that double up to a cap (jittered where many peers retry at once), a retry of one platform call,
// and a sleep that stop() cuts short, so stopping never waits out a backoff.

/** Delays that start at baseMs and double per attempt, up to maxMs. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** The default channel restart delays: from 1 s, doubling, to at most a minute. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };

/** The delay before retry number `attempt` (0-based): baseMs·2^attempt, capped at maxMs. */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}

/** The delay before restart number `attempt` (0-based): backoffDelay jittered to 50–100 %. */
export function restartDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  return Math.round(backoffDelay(attempt, policy) * (0.5 + random() / 2));
}

/** Waits `ms`, or less if `signal` aborts or `wake` calls what it is given; never rejects. */
export function sleep(ms: number, signal: AbortSignal, wake?: (resolve: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    wake?.(done);
  });
}

/** How one platform call is tried again. */
export interface CallRetry {
  /** Tries in all, the first included. */
  tries: number;
  /** Whether this error may heal by trying again (a 5xx, a rate limit, a network error). */
  retriable(error: unknown): boolean;
  /** The wait before try `attempt + 1` (attempt is 1-based): a platform's retry_after, or a backoff. */
  delayMs(error: unknown, attempt: number): number;
  /** Cancels the waits; a call is not tried again once it aborted. */
  signal: AbortSignal;
}

/** Runs `call` until it succeeds, fails for good, runs out of tries, or the signal aborts; then throws its error. */
export async function retryCall<T>(call: () => Promise<T>, retry: CallRetry): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!retry.retriable(error) || attempt >= retry.tries || retry.signal.aborted) throw error;
      await sleep(retry.delayMs(error, attempt), retry.signal);
      // Stopped while waiting: the caller keeps what it was sending and sends it after the next start.
      if (retry.signal.aborted) throw error;
    }
  }
}
