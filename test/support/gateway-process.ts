// Runs the real `medbot gateway` as a child process (for kill -9 tests and the bench), and reads /healthz.
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { MEDBOT_BIN } from "./medbot-cli.js";

export interface GatewayProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Everything the process wrote to stdout and stderr so far. */
  log: () => string;
}

/** A free loopback port for gateway.port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns `medbot gateway` over the data folder `home`, without the developer's own MEDBOT_ variables. */
export function spawnGateway(home: string, extraEnv: Record<string, string> = {}): GatewayProcess {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MEDBOT_")));
  // Run as a user runs it: the file itself, so its shebang's V8 memory flags apply.
  const child = spawn(MEDBOT_BIN, ["gateway"], {
    env: { ...env, MEDBOT_HOME: home, MEDBOT_ALLOW_ROOT: "1", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (data: Buffer) => {
    output += data.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, log: () => output };
}

/** The gateway's /healthz body, or undefined while it does not answer. */
export async function health(port: number): Promise<unknown> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    return (await response.json()) as unknown;
  } catch {
    return undefined;
  }
}
