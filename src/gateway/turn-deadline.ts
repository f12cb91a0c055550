// A poison message must not hold its chat forever: each turn runs against gateway.turnDeadlineS, and a
// message whose turn crashed medbot or ran past the deadline twice is set aside (see queue.beginTurn).

/** Turns started for one message after which the next start sets it aside instead. */
export const MAX_TURN_ATTEMPTS = 2;

/** How long a cancelled turn may take to wind down before the gateway stops waiting for it. */
const CANCEL_GRACE_MS = 5_000;

/** What the sender of a message set aside is told, once. */
export const SET_ASIDE_REPLY =
  "I could not process your message (my attempts to answer it failed twice), so it has been set aside. Please try again in other words, or in parts.";

const LATE = Symbol("past the turn deadline");

export type TurnOutcome = { reply: string } | { timedOut: true };

/**
 * Runs `turn`; past `deadlineMs` it calls `cancel` and resolves { timedOut } once the turn wound down (or
 * after a short grace, so a turn that ignores cancelling cannot hold its chat).
 */
export async function runWithDeadline(
  turn: () => Promise<string>,
  deadlineMs: number,
  cancel: () => void,
): Promise<TurnOutcome> {
  const running = turn();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), deadlineMs);
  });
  try {
    const first = await Promise.race([running, late]);
    if (first !== LATE) return { reply: first };
  } finally {
    clearTimeout(timer);
  }
  cancel();
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    running.catch(() => undefined),
    new Promise((resolve) => {
      grace = setTimeout(resolve, CANCEL_GRACE_MS);
    }),
  ]);
  clearTimeout(grace);
  return { timedOut: true };
}
