// Feishu message bodies, both ways. Outbound, the reply's shape picks the message type: plain `text` for a
// short plain reply, a `post` (its `md` element) for inline formatting and links, an `interactive` card (a
// markdown element) for long or structured replies that a chat bubble renders badly. Inbound, `text` and
// `post` contents become plain text with the @mention placeholders resolved.

import { hasFormatting, markdownBlocks } from "./markdown.js";

/** What Feishu accepts for a post or card request body (30 KB); a text body may be 150 KB. */
export const FEISHU_BODY_LIMIT_BYTES = 30 * 1024;

/** Replies longer than this, or with more lines, read better as a card than as a bubble. */
const CARD_FROM_CHARS = 1500;
const CARD_FROM_LINES = 25;

export type FeishuMessageType = "text" | "post" | "interactive";

/** One message as the messages API takes it: `content` is the JSON string Feishu expects for `msg_type`. */
export interface FeishuOutgoing {
  msgType: FeishuMessageType;
  content: string;
}

/** A mention as it arrives in `message.mentions`: `key` is the placeholder ("@_user_1") in the text. */
export interface FeishuMention {
  key: string;
  name: string;
  id: { open_id?: string };
}

/** A Markdown table: a row, then the separator row (the tokenizer reads tables as lines). */
const TABLE = /^ {0,3}\|.*\|\s*\n {0,3}\|?\s*:?-{3,}/m;

/** Chooses the message type for one chunk of Markdown and renders its content. */
export function renderFeishuMessage(markdown: string): FeishuOutgoing {
  const safe = neutraliseTags(markdown);
  const lines = markdown.split("\n").length;
  const blocks = markdownBlocks(markdown);
  const structured = blocks.some((block) => block.kind === "code" || block.kind === "heading");
  if (markdown.length > CARD_FROM_CHARS || lines > CARD_FROM_LINES || structured || TABLE.test(markdown)) {
    const card = { schema: "2.0", body: { elements: [{ tag: "markdown", content: safe }] } };
    return { msgType: "interactive", content: JSON.stringify(card) };
  }
  if (hasFormatting(blocks)) {
    const post = { zh_cn: { title: "", content: [[{ tag: "md", text: safe }]] } };
    return { msgType: "post", content: JSON.stringify(post) };
  }
  return { msgType: "text", content: JSON.stringify({ text: safe }) };
}

/** Bytes of the messages API request body that carries `message` (the content is escaped once more). */
export function requestBytes(message: FeishuOutgoing): number {
  const receiveId = "oc_".padEnd(35, "0"); // a chat id's length
  return Buffer.byteLength(
    JSON.stringify({ receive_id: receiveId, msg_type: message.msgType, content: message.content }),
  );
}

/**
 * Feishu reads `<at user_id="all">`, `<font>` and similar tags in text, posts and cards: a zero-width space
 * after "<" keeps a reply from mentioning everyone or restyling itself, and reads the same.
 */
function neutraliseTags(text: string): string {
  return text.replace(/<(?=[A-Za-z/])/g, "<\u200b");
}

/**
 * The text of an inbound `text` or `post` message, mentions resolved: the bot's own mention is dropped,
 * other people's read "@Name". Undefined for other message types or content that is not JSON.
 */
export function inboundText(
  messageType: string,
  content: string,
  mentions: readonly FeishuMention[],
  botOpenId: string,
): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return undefined;
  }
  let raw: string | undefined;
  if (messageType === "text" && isRecord(parsed) && typeof parsed.text === "string") raw = parsed.text;
  if (messageType === "post") raw = postText(parsed);
  if (raw === undefined) return undefined;
  return resolveMentions(raw, mentions, botOpenId);
}

function resolveMentions(text: string, mentions: readonly FeishuMention[], botOpenId: string): string {
  let resolved = text;
  // Longest key first, so "@_user_1" does not eat the start of "@_user_10".
  for (const mention of [...mentions].sort((a, b) => b.key.length - a.key.length)) {
    const replacement = mention.id.open_id === botOpenId ? "" : `@${mention.name}`;
    resolved = resolved.split(mention.key).join(replacement);
  }
  return resolved
    .split("\n")
    .map((line) => line.replace(/[ \t]{2,}/g, " ").trim())
    .join("\n")
    .trim();
}

/** A post's paragraphs as lines: text as is, links as Markdown, mentions by their placeholder. */
function postText(parsed: unknown): string | undefined {
  if (!isRecord(parsed)) return undefined;
  // Events carry the post bare; some payloads wrap it in a locale ("zh_cn": {...}).
  const post = Array.isArray(parsed.content) ? parsed : Object.values(parsed).find(isPost);
  if (!isPost(post)) return undefined;
  const lines = post.content.map((paragraph) =>
    (Array.isArray(paragraph) ? paragraph : []).map(postElementText).join(""),
  );
  const title = typeof post.title === "string" ? post.title.trim() : "";
  return [title, ...lines].filter((line, index) => index > 0 || line !== "").join("\n");
}

function postElementText(element: unknown): string {
  if (!isRecord(element)) return "";
  const text = typeof element.text === "string" ? element.text : "";
  switch (element.tag) {
    case "text":
    case "md":
      return text;
    case "a":
      return typeof element.href === "string" && element.href !== text ? `[${text}](${element.href})` : text;
    case "at":
      return typeof element.user_id === "string" ? element.user_id : `@${String(element.user_name ?? "")}`;
    case "code_block":
      return `\n\`\`\`${String(element.language ?? "").toLowerCase()}\n${text}\n\`\`\`\n`;
    default:
      return text;
  }
}

function isPost(value: unknown): value is { title?: unknown; content: unknown[] } {
  return isRecord(value) && Array.isArray(value.content);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
