// A SchedulerClock the test moves by hand: timers fire, in time order, only when advance() passes them.
import type { SchedulerClock } from "../../src/schedules/types.js";

interface Timer {
  at: number;
  fire: () => void;
  cancelled: boolean;
}

export class FakeClock implements SchedulerClock {
  private current: number;
  private readonly timers: Timer[] = [];

  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  setTimer(at: Date, fire: () => void): () => void {
    const timer: Timer = { at: at.getTime(), fire, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  armed(): Date[] {
    return this.timers.filter((timer) => !timer.cancelled).map((timer) => new Date(timer.at));
  }

  /** Moves time to `to` (or forward by ms), firing every timer due on the way, earliest first. */
  async advance(to: Date | string | number): Promise<void> {
    const target = typeof to === "number" ? this.current + to : new Date(to).getTime();
    for (;;) {
      const next = this.timers
        .filter((timer) => !timer.cancelled && timer.at <= target)
        .sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.cancelled = true;
      this.current = Math.max(this.current, next.at);
      next.fire();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.current = Math.max(this.current, target);
  }

  /** Jumps time without firing anything (the machine was off). */
  jump(to: Date | string): void {
    this.current = new Date(to).getTime();
  }
}
