// GET /healthz: each channel's transport state, how many messages it refused, and the queue counts.
// No names, ids or message text.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { ChannelState } from "../channels/types.js";

/** What /healthz reports. */
export interface HealthReport {
  status: "ok" | "degraded" | "stopping";
  channels: Record<string, ChannelState>;
  /** Messages refused per channel since the gateway started (not allowed, or, for email, not proven). */
  refused: Record<string, number>;
  queue: { pending: number; unsent: number };
  /** Channels that stopped for good, with why (no personal data: a token problem, a second poller). */
  problems?: Record<string, string>;
  /** Why the database cannot store anything now (disk full, read-only); absent while it can. */
  storage?: string;
}

export interface HealthServerOptions {
  host: string;
  port: number;
  allowNonLoopback: boolean;
  report: () => HealthReport;
}

export interface HealthServer {
  /** The port actually bound (differs from the config when it asked for 0). */
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** True for a loopback host: only this machine can reach the endpoint. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(
    host
      .trim()
      .toLowerCase()
      .replace(/^\[|\]$/g, ""),
  );
}

/** Refuses a non-loopback host unless the config allows it, naming the key to change. */
export function assertHealthHost(host: string, allowNonLoopback: boolean): void {
  if (isLoopbackHost(host) || allowNonLoopback) return;
  throw new Error(
    `gateway.host is "${host}", which other machines can reach; use 127.0.0.1, or set gateway.allowNonLoopback to true`,
  );
}

/** Starts the health endpoint; rejects for a non-loopback host unless allowed, or when the port is taken. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  assertHealthHost(options.host, options.allowNonLoopback);
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method === "GET" && path === "/healthz") {
      const body = JSON.stringify(options.report());
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(body);
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "not found" }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
