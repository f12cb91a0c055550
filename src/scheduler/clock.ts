// The real SchedulerClock: wall time and setTimeout. Node caps a timeout at 2^31-1 ms (about 24.8 days) and
// fires at once beyond it, so a far timer is armed in steps; timers are unref'd so they never keep a
// finished process alive.
import type { SchedulerClock } from "../schedules/types.js";

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The system clock, with timers that may lie months ahead. */
export const systemClock: SchedulerClock = {
  now: () => new Date(),
  setTimer(at, fire) {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const delay = at.getTime() - Date.now();
      if (delay > MAX_TIMEOUT_MS) {
        timer = setTimeout(arm, MAX_TIMEOUT_MS);
      } else {
        timer = setTimeout(fire, Math.max(0, delay));
      }
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};
