// What medbot's text looks like on WhatsApp: Markdown rendered into WhatsApp's own markup, the note that
// tells the agent where a received file was saved, and the content type of a document we send.
import * as path from "node:path";
import type { MediaPending, SavedFile } from "../bridge-protocol/protocol.js";

const MIME_TYPES: Record<string, string> = {
  ".pdf": "application/pdf",
  ".json": "application/json",
  ".md": "text/markdown",
  ".txt": "text/plain",
  ".csv": "text/csv",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".zip": "application/zip",
};

/** The content type WhatsApp shows for a document we send, from its file name. */
export function mimeType(filename: string): string {
  return MIME_TYPES[path.extname(filename).toLowerCase()] ?? "application/octet-stream";
}

/** Inline spans, earliest match wins: code first so nothing inside it is reformatted. */
const INLINE =
  /`([^`\n]+)`|\*\*(.+?)\*\*|__(.+?)__|~~(.+?)~~|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])/;

function renderInline(text: string): string {
  let out = "";
  let rest = text;
  for (let match = INLINE.exec(rest); match; match = INLINE.exec(rest)) {
    out += rest.slice(0, match.index);
    const [whole, code, bold, boldAlt, strike, linkText, linkUrl, italic] = match;
    if (code !== undefined) out += whole;
    else if (bold !== undefined || boldAlt !== undefined) out += `*${renderInline(bold ?? boldAlt ?? "")}*`;
    else if (strike !== undefined) out += `~${renderInline(strike)}~`;
    else if (linkText !== undefined && linkUrl !== undefined)
      out += linkText === linkUrl ? linkUrl : `${renderInline(linkText)} (${linkUrl})`;
    else out += `_${renderInline(italic ?? "")}_`;
    rest = rest.slice(match.index + whole.length);
  }
  return out + rest;
}

/**
 * Markdown → WhatsApp's own markup: **bold** → *bold*, *italic* → _italic_, ~~x~~ → ~x~, headings bold,
 * bullets •, links "text (url)", code kept. Never longer than the input, so the gateway's chunks still fit.
 */
export function markdownToWhatsApp(markdown: string): string {
  let inFence = false;
  return markdown
    .split("\n")
    .map((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence;
        return line.replace(/^(\s*```)[\w+-]+\s*$/, "$1");
      }
      if (inFence) return line;
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) return `*${renderInline(heading[1] ?? "").replace(/^\*(.*)\*$/, "$1")}*`;
      const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
      if (bullet) return `${bullet[1] ?? ""}• ${renderInline(bullet[2] ?? "")}`;
      return renderInline(line);
    })
    .join("\n");
}

/** The text plus a note telling the agent where a received file is, relative to the workspace it reads. */
export function withSavedMediaNote(text: string, media: SavedFile, workspace: string): string {
  const where = path.relative(workspace, media.path);
  return withNote(text, `[attached: ${media.filename} (${media.mimetype}), saved as ${where}]`);
}

/** The text plus a note that a file came with it but could not be saved, and why. */
export function withUnsavedMediaNote(text: string, media: MediaPending, reason: string): string {
  return withNote(
    text,
    `[attached: ${media.filename} (${media.mimetype}), not saved: ${reason.slice(0, 300)}]`,
  );
}

function withNote(text: string, note: string): string {
  return text ? `${text}\n\n${note}` : note;
}
