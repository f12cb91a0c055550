// Restart and resend delays, shared by channel supervision (gateway.ts) and the reply sender (reply-sender.ts).

/** Restart delays for a failed channel: base·2^attempt, capped, with jitter. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** The delay before restart number `attempt` (0-based): exponential, capped, jittered to 50–100 %. */
export function restartDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(exponential * (0.5 + random() / 2));
}

/** The default delays: from 1 s, doubling, to at most a minute. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };
