// A small HTTP CONNECT proxy on 127.0.0.1, like the corporate proxies medbot users sit behind: it opens a
// TCP tunnel to the requested host:port and pipes bytes both ways. It tunnels only to loopback (tests never
// leave the machine), counts the tunnels and refuses plain proxied requests, so a test sees how it was used.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as net from "node:net";

export class ConnectProxy {
  /** The "host:port" targets of the tunnels opened, in order. */
  readonly tunnels: string[] = [];
  /** The local ports of the proxy's upstream connections: a server sees these as its peers' ports. */
  readonly upstreamPorts = new Set<number>();
  /** Plain (non-CONNECT) requests, which this proxy refuses with 405. */
  plainRequests = 0;
  private readonly sockets = new Set<net.Socket>();

  /** The proxy URL to configure: http://127.0.0.1:PORT. */
  readonly url: string;

  private constructor(private readonly server: http.Server) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Starts listening on 127.0.0.1, port 0. */
  static async start(): Promise<ConnectProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = new ConnectProxy(server);
    server.on("request", (_req, res) => {
      proxy.plainRequests++;
      res.writeHead(405, { "content-type": "text/plain" }).end("only CONNECT is supported\n");
    });
    server.on("connect", (req, client: net.Socket, head) => proxy.tunnel(req, client, head));
    return proxy;
  }

  /** Stops listening and cuts every open tunnel. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    this.track(client);
    const target = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? "");
    const host = target?.[1]?.replace(/^\[|\]$/g, "");
    if (!target || !host || !["127.0.0.1", "localhost", "::1"].includes(host)) {
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    this.tunnels.push(req.url ?? "");
    const upstream = net.connect(Number(target[2]), host, () => {
      if (upstream.localPort !== undefined) this.upstreamPorts.add(upstream.localPort);
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.track(upstream);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }
}
