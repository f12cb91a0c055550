// A scriptable OpenAI-compatible chat server on 127.0.0.1 that records every request it gets.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeToolCall {
  name: string;
  /** An object is sent as JSON; a string is sent as is (to test malformed arguments). */
  arguments: unknown;
  id?: string;
}

export type FakeReply =
  | { content: string }
  | { toolCalls: FakeToolCall[]; content?: string }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delayMs: number; reply: FakeReply }
  | { hangUp: true }
  /** Sends 200 and the start of a body, then nothing more (a server stalled mid-reply). */
  | { stallBody: true };

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: {
    model: string;
    messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string; description: string; parameters: unknown } }[];
    [key: string]: unknown;
  };
}

export type ReplyHandler = (request: RecordedRequest) => FakeReply | undefined;

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private handler: ReplyHandler | undefined;
  private callCounter = 0;

  private constructor(private readonly server: http.Server) {}

  /** Starts the server on a free loopback port. */
  static async start(): Promise<FakeOpenAI> {
    let fake: FakeOpenAI | undefined;
    const server = http.createServer((req, res) => void fake?.serve(req, res));
    fake = new FakeOpenAI(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  /** The apiBase to configure: http://127.0.0.1:PORT/v1 */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Replies used in order, one per request. */
  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Decides replies when the queue is empty (return undefined for the default echo). */
  onRequest(handler: ReplyHandler): this {
    this.handler = handler;
    return this;
  }

  /** Chat requests received, excluding none. */
  get chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith("/chat/completions"));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const recorded: RecordedRequest = {
      path: req.url ?? "",
      headers: req.headers,
      body: text ? JSON.parse(text) : { model: "", messages: [] },
    };
    this.requests.push(recorded);
    if (!recorded.path.endsWith("/chat/completions")) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "not found" } }));
      return;
    }
    const reply = this.queue.shift() ?? this.handler?.(recorded) ?? echo(recorded);
    await this.send(res, reply, recorded);
  }

  private async send(res: http.ServerResponse, reply: FakeReply, request: RecordedRequest): Promise<void> {
    if ("delayMs" in reply) {
      await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      if (res.destroyed) return;
      return this.send(res, reply.reply, request);
    }
    if ("hangUp" in reply) {
      res.socket?.destroy();
      return;
    }
    if ("stallBody" in reply) {
      res.writeHead(200, { "content-type": "application/json" }).write('{"id": "chatcmpl-stalled", ');
      return;
    }
    if ("status" in reply) {
      res
        .writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
        .end(JSON.stringify(reply.body ?? { error: { message: `fake error ${reply.status}` } }));
      return;
    }
    const toolCalls =
      "toolCalls" in reply
        ? reply.toolCalls.map((call) => ({
            id: call.id ?? `call_${++this.callCounter}`,
            type: "function",
            function: {
              name: call.name,
              arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
            },
          }))
        : undefined;
    const body = {
      id: `chatcmpl-${++this.callCounter}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: request.body.model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: reply.content ?? null,
            ...(toolCalls ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: toolCalls ? "tool_calls" : "stop",
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  }
}

/** The default reply: "echo: " and the last user message without its runtime header. */
function echo(request: RecordedRequest): FakeReply {
  const last = [...request.body.messages].reverse().find((m) => m.role === "user");
  const text = (last?.content ?? "").split("\n").slice(1).join("\n") || (last?.content ?? "");
  return { content: `echo: ${text}` };
}
