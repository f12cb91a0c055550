// The gateway processes and clean-ups of one test file: after each test, processes still running are
// killed (SIGKILL) and the clean-ups run, so a failed test leaves no gateway behind.
import { afterEach } from "vitest";
import type { GatewayProcess } from "./gateway-process.js";

/** Registers the after-each clean-up; push spawned gateways to `processes`, anything else to `cleanups`. */
export function gatewayTestScope(): {
  processes: GatewayProcess[];
  cleanups: Array<() => Promise<void> | void>;
} {
  const processes: GatewayProcess[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const running of processes.splice(0))
      if (running.child.exitCode === null) running.child.kill("SIGKILL");
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return { processes, cleanups };
}
