// Waiting between retries in a channel: cut short when the channel stops, so stop() never waits out a backoff.

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
