// What medbot's text looks like on WhatsApp: Markdown rendered into WhatsApp's own markup, the note that
// tells the agent where a received file was saved, and the content type of a document we send.
import * as path from "node:path";
import type { MediaPending, SavedFile } from "../bridge-protocol/protocol.js";
import { type MarkdownBlock, type MarkdownSpan, markdownBlocks } from "./markdown.js";

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

function renderSpans(spans: readonly MarkdownSpan[]): string {
  return spans.map(renderSpan).join("");
}

function renderSpan(span: MarkdownSpan): string {
  switch (span.kind) {
    case "text":
    case "code":
      return span.source;
    case "bold":
      return `*${renderSpans(span.children)}*`;
    case "strike":
      return `~${renderSpans(span.children)}~`;
    case "italic":
      return `_${renderSpans(span.children)}_`;
    case "link":
      return span.label === span.url ? span.url : `${renderSpans(span.children)} (${span.url})`;
  }
}

function renderBlock(block: MarkdownBlock): string {
  switch (block.kind) {
    case "code":
      // The fences stay (WhatsApp shows them as monospace); the language name would show as text.
      return [block.opener.replace(/^(\s*```)[\w+-]+\s*$/, "$1"), block.code, block.closer].join("\n");
    case "heading":
      return `*${renderSpans(block.spans).replace(/^\*(.*)\*$/, "$1")}*`;
    case "bullet":
      return `${block.indent}• ${renderSpans(block.spans)}`;
    case "line":
      return renderSpans(block.spans);
  }
}

/**
 * Markdown → WhatsApp's own markup: **bold** → *bold*, *italic* → _italic_, ~~x~~ → ~x~, headings bold,
 * bullets •, links "text (url)", code kept. Never longer than the input, so the gateway's chunks still fit.
 */
export function markdownToWhatsApp(markdown: string): string {
  return markdownBlocks(markdown).map(renderBlock).join("\n");
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
