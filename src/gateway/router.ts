// The router: one FIFO per session (channel:chat:sender), several sessions answered in parallel,
// so a slow chat never holds up another and one person's messages are answered in order.
import type { InboxRow } from "../delivery/queue.js";

/** Runs stored messages through `answer`, in order per session, at most `maxParallel` sessions at once. */
export class SessionRouter {
  /** Waiting rows per session; Map order is arrival order, so sessions take turns fairly. */
  private readonly waiting = new Map<string, InboxRow[]>();
  private readonly active = new Set<string>();
  private readonly known = new Set<number>();
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly maxParallel: number,
    private readonly answer: (row: InboxRow) => Promise<void>,
  ) {}

  /** Queues a stored row behind earlier rows of its session; a row already queued is ignored. */
  enqueue(row: InboxRow): void {
    if (this.closed || this.known.has(row.id)) return;
    this.known.add(row.id);
    const queue = this.waiting.get(row.sessionKey);
    if (queue) queue.push(row);
    else this.waiting.set(row.sessionKey, [row]);
    this.pump();
  }

  /** Sessions with a turn running now. */
  activeSessions(): string[] {
    return [...this.active];
  }

  /** Starts no new turns; queued rows stay in the inbox for the next start. */
  close(): void {
    this.closed = true;
    this.waiting.clear();
    this.notifyIfIdle();
  }

  /** Resolves true when no turn is running, or false once `deadlineMs` has passed first. */
  async idle(deadlineMs: number): Promise<boolean> {
    if (this.active.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    const result = await Promise.race([finished, late]);
    clearTimeout(timer);
    return result;
  }

  private pump(): void {
    for (const [sessionKey, queue] of this.waiting) {
      if (this.closed || this.active.size >= this.maxParallel) return;
      if (this.active.has(sessionKey)) continue;
      const row = queue.shift();
      if (queue.length === 0) this.waiting.delete(sessionKey);
      if (row) this.run(sessionKey, row);
    }
  }

  private run(sessionKey: string, row: InboxRow): void {
    this.active.add(sessionKey);
    // `answer` records its own failures; the catch only keeps one bad row from stalling its session.
    void this.answer(row)
      .catch(() => {})
      .finally(() => {
        this.active.delete(sessionKey);
        this.known.delete(row.id);
        this.notifyIfIdle();
        this.pump();
      });
  }

  private notifyIfIdle(): void {
    if (this.active.size > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
