// One incoming WhatsApp message as a protocol `message` frame: who sent it (the participant in a group,
// mapped from a LID to a phone number where WhatsApp told us), its text or caption, whether it mentions
// us, and what document or image it carries. The file itself is not fetched here: it waits in
// PendingMedia until the gateway, having let the sender in, asks for it.
import {
  isJidBroadcast,
  isJidGroup,
  isJidNewsletter,
  isLidUser,
  isPnUser,
  jidDecode,
  jidNormalizedUser,
  normalizeMessageContent,
  type proto,
  type WAMessage,
} from "@whiskeysockets/baileys";
import type { MessageFrame } from "../../src/bridge-protocol/protocol.js";
import type { Logger } from "../../src/log.js";
import type { PendingMedia } from "./pending-media.js";

/** What translating a message needs from the live session. */
export interface InboundContext {
  /** Our own account (`sock.user`): its phone jid and LID, to see mentions. */
  me: { id: string; lid?: string | undefined } | undefined;
  /** baileys' LID -> phone-number store, when the socket has one. */
  pnForLid?: ((lid: string) => Promise<string | null>) | undefined;
  /** Where a media message waits for the gateway's download request. */
  pendingMedia: PendingMedia;
  logger: Logger;
}

/** The frame for one `messages.upsert` entry, or undefined for what the gateway never handles. */
export async function toMessageFrame(
  message: WAMessage,
  ctx: InboundContext,
): Promise<MessageFrame | undefined> {
  const { key } = message;
  const chatJid = key.remoteJid;
  if (!chatJid || !key.id || key.fromMe) return undefined;
  // Status updates, broadcast lists and channels are not conversations with us.
  if (isJidBroadcast(chatJid) || isJidNewsletter(chatJid)) return undefined;
  const content = normalizeMessageContent(message.message);
  if (!content) return undefined;

  const isGroup = isJidGroup(chatJid) === true;
  const senderJid = isGroup ? key.participant : chatJid;
  if (!senderJid) return undefined;
  const senderAlt = isGroup ? key.participantAlt : key.remoteJidAlt;

  const text =
    content.conversation ??
    content.extendedTextMessage?.text ??
    content.imageMessage?.caption ??
    content.documentMessage?.caption ??
    content.videoMessage?.caption ??
    "";
  const mediaPending = offerMedia(message, content, ctx.pendingMedia);
  if (!text && !mediaPending) return undefined;

  return {
    type: "message",
    messageId: key.id,
    chatJid,
    senderJid,
    senderNumber: await phoneNumberOf(senderJid, senderAlt, ctx),
    text,
    isGroup,
    mentioned: mentionsMe(content, ctx.me),
    ...(message.pushName ? { pushName: message.pushName.slice(0, 256) } : {}),
    timestamp: toUnixSeconds(message.messageTimestamp),
    ...(mediaPending ? { mediaPending } : {}),
  };
}

/** The sender's phone number (digits, no +), from a phone jid, the alt jid, or baileys' LID mapping. */
export async function phoneNumberOf(
  senderJid: string,
  senderAlt: string | undefined,
  ctx: Pick<InboundContext, "pnForLid" | "logger">,
): Promise<string | null> {
  if (isPnUser(senderJid)) return digitsOf(senderJid);
  if (!isLidUser(senderJid)) return null;
  if (senderAlt && isPnUser(senderAlt)) return digitsOf(senderAlt);
  if (!ctx.pnForLid) return null;
  try {
    const pn = await ctx.pnForLid(senderJid);
    return pn && isPnUser(pn) ? digitsOf(pn) : null;
  } catch (error) {
    ctx.logger.warn({ err: (error as Error).message }, "whatsapp LID mapping lookup failed");
    return null;
  }
}

function digitsOf(jid: string): string | null {
  const user = jidDecode(jid)?.user;
  return user && /^[0-9]{5,20}$/.test(user) ? user : null;
}

function mentionsMe(content: proto.IMessage, me: InboundContext["me"]): boolean {
  if (!me) return false;
  const contextInfo =
    content.extendedTextMessage?.contextInfo ??
    content.imageMessage?.contextInfo ??
    content.documentMessage?.contextInfo ??
    content.videoMessage?.contextInfo;
  const mentioned = contextInfo?.mentionedJid ?? [];
  // Our jids carry a device suffix (123:4@s.whatsapp.net); mentions name the bare user.
  const mine = new Set([me.id, me.lid].filter((j): j is string => !!j).map((j) => jidNormalizedUser(j)));
  return mentioned.some((jid) => mine.has(jidNormalizedUser(jid)));
}

function offerMedia(
  message: WAMessage,
  content: proto.IMessage,
  pendingMedia: PendingMedia,
): MessageFrame["mediaPending"] {
  const file = content.documentMessage ?? content.imageMessage;
  if (!file) return undefined;
  const name = content.documentMessage ? content.documentMessage.fileName : undefined;
  return pendingMedia.offer(message, file, name ?? undefined);
}

function toUnixSeconds(value: WAMessage["messageTimestamp"]): number {
  if (typeof value === "number") return Math.max(0, Math.floor(value));
  if (value && typeof value === "object" && "toNumber" in value) return Math.max(0, value.toNumber());
  return Math.floor(Date.now() / 1000);
}
