// The in-process notice that schedules changed: whoever adds or removes a cron job, or changes a
// medication's times, says so here, and a running scheduler engine on the same database connection re-arms
// its timer at once. It lives below both, so the agent's cron tool wakes the engine without importing it.
import type { Db } from "../storage/db.js";

const changeListeners = new WeakMap<Db, Set<() => void>>();

/** Tells a running engine on `db` (in this process) that jobs or medications changed: it re-arms its timer. */
export function schedulesChanged(db: Db): void {
  for (const listener of changeListeners.get(db) ?? []) listener();
}

/** Calls `listener` at every schedulesChanged(db) until the returned function is called. */
export function whenSchedulesChange(db: Db, listener: () => void): () => void {
  const listeners = changeListeners.get(db) ?? new Set();
  changeListeners.set(db, listeners.add(listener));
  return () => listeners.delete(listener);
}
