// QQ's HTTP callback mode. Every request must carry an Ed25519 signature of timestamp + body made with the
// key QQ derives from the bot secret (the secret repeated to a 32-byte seed); it is checked before anything else
// and a request without a valid one gets 401 and causes nothing. Op 13 (callback address validation) is
// answered with the signature of event_ts + plain_token; op 0 events go to the adapter, acknowledged with
// op 12 only after the adapter handled them (a 500 makes QQ send the event again).
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** Largest callback body accepted; QQ's message events are a few kilobytes. */
const MAX_BODY_BYTES = 1024 * 1024;
/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** The Ed25519 key pair QQ derives from a bot secret: the secret repeated until 32 bytes, cut there. */
export function qqSigningKeys(secret: string): { privateKey: KeyObject; publicKey: KeyObject } {
  if (!secret) throw new Error("channels.qq.secret is empty; set the AppSecret from q.qq.com");
  let seed = secret;
  while (Buffer.byteLength(seed) < 32) seed = seed.repeat(2);
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.from(seed).subarray(0, 32)]);
  const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** Hex Ed25519 signature of `message`, as QQ writes it. */
export function qqSign(privateKey: KeyObject, message: string | Buffer): string {
  return sign(null, Buffer.from(message), privateKey).toString("hex");
}

/** Whether `signatureHex` is a valid signature of timestamp + body by `publicKey`. */
export function qqVerify(
  publicKey: KeyObject,
  timestamp: string,
  body: Buffer,
  signatureHex: string,
): boolean {
  if (!timestamp || !/^[0-9a-f]{128}$/i.test(signatureHex)) return false;
  const signature = Buffer.from(signatureHex, "hex");
  // QQ's reference check: the top three bits of the last byte are zero in a canonical signature.
  if (((signature[63] ?? 0) & 224) !== 0) return false;
  return verify(null, Buffer.concat([Buffer.from(timestamp), body]), publicKey, signature);
}

/** A dispatch (op 0) as posted by QQ. */
export interface QqDispatch {
  type: string;
  data: unknown;
}

export interface QqWebhookOptions {
  secret: string;
  host: string;
  port: number;
  path: string;
  /** Handles one signed dispatch; a rejection answers 500 so QQ posts it again. */
  onDispatch(dispatch: QqDispatch): Promise<void>;
}

/** The callback server: listens on host:port and accepts only signed requests to `path`. */
export class QqWebhook {
  private readonly keys: { privateKey: KeyObject; publicKey: KeyObject };
  private readonly server: http.Server;

  constructor(private readonly options: QqWebhookOptions) {
    this.keys = qqSigningKeys(options.secret);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => answer(res, 500, { error: "internal error" }));
    });
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) return answer(res, 413, { error: "body too large" });
    const timestamp = header(req, "x-signature-timestamp");
    const signature = header(req, "x-signature-ed25519");
    if (!qqVerify(this.keys.publicKey, timestamp, body, signature))
      return answer(res, 401, { error: "bad signature" });
    const url = new URL(req.url ?? "/", "http://callback");
    if (req.method !== "POST" || url.pathname !== this.options.path)
      return answer(res, 404, { error: "not found" });
    let payload: { op?: unknown; t?: unknown; d?: unknown };
    try {
      payload = JSON.parse(body.toString("utf8")) as typeof payload;
    } catch {
      return answer(res, 400, { error: "body is not JSON" });
    }
    if (payload.op === 13) return this.validate(res, payload.d);
    if (payload.op !== 0 || typeof payload.t !== "string") return answer(res, 200, { op: 12, d: 0 });
    await this.options.onDispatch({ type: payload.t, data: payload.d });
    answer(res, 200, { op: 12, d: 0 });
  }

  private validate(res: http.ServerResponse, data: unknown): undefined {
    const { plain_token: plainToken, event_ts: eventTs } = (data ?? {}) as Record<string, unknown>;
    if (typeof plainToken !== "string" || typeof eventTs !== "string")
      return answer(res, 400, { error: "op 13 needs plain_token and event_ts" });
    answer(res, 200, {
      plain_token: plainToken,
      signature: qqSign(this.keys.privateKey, eventTs + plainToken),
    });
    return;
  }
}

function header(req: http.IncomingMessage, name: string): string {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function answer(res: http.ServerResponse, status: number, body: unknown): undefined {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
