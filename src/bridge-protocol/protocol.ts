// The gateway <-> WhatsApp bridge protocol: JSON text frames over a WebSocket on 127.0.0.1. Both sides
// import these schemas, so a frame one side sends is exactly what the other side accepts. Objects are
// strict: an unknown key is a bug on the other side, and a frame we do not understand changes nothing.
// Inbound media is only described (`mediaPending`); the bridge fetches it when the gateway, having let the
// sender in, sends `download`, so a sender who is not allowed never causes a download.
import { isAbsolute } from "node:path";
import { z } from "zod";

/** Largest frame either side accepts (frames carry text and media paths, never the bytes). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Close code when the first frame is not a good `auth` frame within the auth timeout. */
export const CLOSE_AUTH_TIMEOUT = 4001;
/** Close code for a wrong token. */
export const CLOSE_AUTH_FAILED = 4003;
/** Close code for a connection a newer authenticated gateway connection replaced. */
export const CLOSE_REPLACED = 4004;

const id = z.string().min(1).max(256);
const jid = z.string().min(1).max(256);
const text = z.string().max(100_000);
const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => isAbsolute(p), "must be an absolute path");

export const connectionStateSchema = z.enum(["connecting", "qr", "open", "closed", "logged_out", "replaced"]);

const fileSchema = z.strictObject({
  path: absolutePath,
  filename: z.string().min(1).max(255),
  mimetype: z.string().min(1).max(255),
});

/** What an inbound message could have downloaded; nothing is fetched until the gateway asks for it. */
const mediaPendingSchema = z.strictObject({
  filename: z.string().min(1).max(255),
  mimetype: z.string().min(1).max(255),
  size: z.number().int().nonnegative().optional(),
});

export const authFrameSchema = z.strictObject({
  type: z.literal("auth"),
  token: z.string().min(1).max(1024),
});
export const sendFrameSchema = z.strictObject({
  type: z.literal("send"),
  id,
  to: jid,
  text,
  document: fileSchema.optional(),
});
export const ackFrameSchema = z.strictObject({ type: z.literal("ack"), messageId: id });
/** Asks the bridge to fetch a message's media now that the gateway let its sender in. */
export const downloadFrameSchema = z.strictObject({ type: z.literal("download"), id, messageId: id });

export const readyFrameSchema = z.strictObject({ type: z.literal("ready"), state: connectionStateSchema });
export const statusFrameSchema = z.strictObject({
  type: z.literal("status"),
  state: connectionStateSchema,
  qr: z.string().min(1).max(4096).optional(),
  detail: z.string().max(2000).optional(),
});
export const messageFrameSchema = z.strictObject({
  type: z.literal("message"),
  messageId: id,
  chatJid: jid,
  senderJid: jid,
  senderNumber: z
    .string()
    .regex(/^[0-9]{5,20}$/, "digits with country code, no +")
    .nullable(),
  text,
  isGroup: z.boolean(),
  mentioned: z.boolean(),
  pushName: z.string().max(256).optional(),
  timestamp: z.number().int().nonnegative(),
  mediaPending: mediaPendingSchema.optional(),
});
export const resultFrameSchema = z.discriminatedUnion("ok", [
  // `media` answers a download: the file the bridge saved.
  z.strictObject({ type: z.literal("result"), id, ok: z.literal(true), media: fileSchema.optional() }),
  z.strictObject({ type: z.literal("result"), id, ok: z.literal(false), error: z.string().max(2000) }),
]);

/** Frames the gateway sends to the bridge. */
export const gatewayFrameSchema = z.discriminatedUnion("type", [
  authFrameSchema,
  sendFrameSchema,
  ackFrameSchema,
  downloadFrameSchema,
]);
/** Frames the bridge sends to the gateway. */
export const bridgeFrameSchema = z.discriminatedUnion("type", [
  readyFrameSchema,
  statusFrameSchema,
  messageFrameSchema,
  resultFrameSchema,
]);
/** Any frame of the protocol, either direction (the `type` values do not overlap). */
export const frameSchema = z.discriminatedUnion("type", [gatewayFrameSchema, bridgeFrameSchema]);

export type ConnectionState = z.infer<typeof connectionStateSchema>;
export type AuthFrame = z.infer<typeof authFrameSchema>;
export type SendFrame = z.infer<typeof sendFrameSchema>;
export type AckFrame = z.infer<typeof ackFrameSchema>;
export type DownloadFrame = z.infer<typeof downloadFrameSchema>;
export type MediaPending = z.infer<typeof mediaPendingSchema>;
export type SavedFile = z.infer<typeof fileSchema>;
export type ReadyFrame = z.infer<typeof readyFrameSchema>;
export type StatusFrame = z.infer<typeof statusFrameSchema>;
export type MessageFrame = z.infer<typeof messageFrameSchema>;
export type ResultFrame = z.infer<typeof resultFrameSchema>;
export type GatewayFrame = z.infer<typeof gatewayFrameSchema>;
export type BridgeFrame = z.infer<typeof bridgeFrameSchema>;
export type Frame = z.infer<typeof frameSchema>;

/** Why a frame was refused: not JSON, too large, or not a frame of the protocol (names the field). */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

/** Parses one text frame of either direction; throws ProtocolError naming what is wrong. */
export function parseFrame(data: string | Buffer): Frame {
  return parseWith(frameSchema, data);
}

/** Parses a frame the bridge received from the gateway (auth, send, ack, download); throws otherwise. */
export function parseGatewayFrame(data: string | Buffer): GatewayFrame {
  return parseWith(gatewayFrameSchema, data);
}

/** Parses a frame the gateway received from the bridge (ready, status, message, result); throws otherwise. */
export function parseBridgeFrame(data: string | Buffer): BridgeFrame {
  return parseWith(bridgeFrameSchema, data);
}

/** Serialises a frame for ws.send. */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}

function parseWith<T>(schema: z.ZodType<T>, data: string | Buffer): T {
  const raw = typeof data === "string" ? data : data.toString("utf8");
  if (Buffer.byteLength(raw, "utf8") > MAX_FRAME_BYTES) {
    throw new ProtocolError(`frame larger than ${MAX_FRAME_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ProtocolError("frame is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ProtocolError(`bad frame: ${describeIssues(parsed.error, json)}`);
  return parsed.data;
}

// Names the frame type and the first offending field, never the values (a message frame carries health text).
function describeIssues(error: z.ZodError, json: unknown): string {
  const type =
    json && typeof json === "object" && "type" in json && typeof json.type === "string"
      ? json.type.slice(0, 32)
      : "?";
  const issue = error.issues[0];
  if (!issue) return `type ${type}`;
  const where = issue.path.length > 0 ? issue.path.join(".") : "(frame)";
  return `type ${type}, ${where}: ${issue.message}`;
}
