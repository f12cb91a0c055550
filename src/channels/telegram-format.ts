// Markdown (as the agent writes it) → the HTML subset Telegram accepts with parse_mode "HTML".
// The output is always balanced: every tag this emits is closed in the same call, and all other
// text has <, > and & escaped, so Telegram can only reject it for reasons outside this module.

import { type MarkdownBlock, type MarkdownSpan, markdownBlocks } from "./markdown.js";

/** Escapes the three characters Telegram's HTML parser treats specially. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

function renderSpans(spans: readonly MarkdownSpan[]): string {
  return spans.map(renderSpan).join("");
}

function renderSpan(span: MarkdownSpan): string {
  switch (span.kind) {
    case "text":
      return escapeHtml(span.source);
    case "code":
      return `<code>${escapeHtml(span.code)}</code>`;
    case "bold":
      return `<b>${renderSpans(span.children)}</b>`;
    case "strike":
      return `<s>${renderSpans(span.children)}</s>`;
    case "italic":
      return `<i>${renderSpans(span.children)}</i>`;
    case "link":
      return `<a href="${escapeAttribute(span.url)}">${renderSpans(span.children)}</a>`;
  }
}

function renderBlock(block: MarkdownBlock): string {
  switch (block.kind) {
    case "code": {
      const code = escapeHtml(block.code);
      const language = block.language ? ` class="language-${escapeAttribute(block.language)}"` : "";
      return language ? `<pre><code${language}>${code}</code></pre>` : `<pre>${code}</pre>`;
    }
    case "heading":
      return `<b>${renderSpans(block.spans)}</b>`;
    case "bullet":
      return `${block.indent}• ${renderSpans(block.spans)}`;
    case "line":
      return renderSpans(block.spans);
  }
}

/** Renders Markdown as Telegram HTML: bold, italic, strike, inline code, fenced code blocks and links. */
export function markdownToTelegramHtml(markdown: string): string {
  return markdownBlocks(markdown).map(renderBlock).join("\n");
}

/**
 * Splits Markdown so each piece renders to at most `limit` characters. The gateway already chunks the
 * Markdown to the limit; rendering can still grow it (escapes, tags), so an oversized piece is halved
 * at a line or word break and each half rendered again.
 */
export function renderTelegramChunks(markdown: string, limit: number): string[] {
  const html = markdownToTelegramHtml(markdown);
  if (html.length <= limit) return [html];
  if (markdown.length <= 1) return [html.slice(0, limit)];
  const middle = Math.floor(markdown.length / 2);
  const newline = markdown.lastIndexOf("\n", middle);
  const space = markdown.lastIndexOf(" ", middle);
  const cut = newline > 0 ? newline : space > 0 ? space : middle;
  return [
    ...renderTelegramChunks(markdown.slice(0, cut), limit),
    ...renderTelegramChunks(markdown.slice(cut).replace(/^\n/, ""), limit),
  ].filter((chunk) => chunk.length > 0);
}

/** Removes HTML tags and unescapes entities: the plain text to resend when Telegram rejects the HTML. */
export function telegramHtmlToPlain(html: string): string {
  return html
    .replace(/<[^>]+>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}
