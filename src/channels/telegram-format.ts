// Markdown (as the agent writes it) → the HTML subset Telegram accepts with parse_mode "HTML".
// The output is always balanced: every tag this emits is closed in the same call, and all other
// text has <, > and & escaped, so Telegram can only reject it for reasons outside this module.

/** Escapes the three characters Telegram's HTML parser treats specially. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

/** Inline spans, earliest match wins: code first so nothing inside it is formatted. */
const INLINE =
  /`([^`\n]+)`|\*\*(.+?)\*\*|__(.+?)__|~~(.+?)~~|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])/;

function renderInline(text: string): string {
  let html = "";
  let rest = text;
  for (let match = INLINE.exec(rest); match; match = INLINE.exec(rest)) {
    html += escapeHtml(rest.slice(0, match.index));
    const [whole, code, bold, boldAlt, strike, linkText, linkUrl, italic, italicAlt] = match;
    if (code !== undefined) html += `<code>${escapeHtml(code)}</code>`;
    else if (bold !== undefined || boldAlt !== undefined)
      html += `<b>${renderInline(bold ?? boldAlt ?? "")}</b>`;
    else if (strike !== undefined) html += `<s>${renderInline(strike)}</s>`;
    else if (linkText !== undefined && linkUrl !== undefined)
      html += `<a href="${escapeAttribute(linkUrl)}">${renderInline(linkText)}</a>`;
    else html += `<i>${renderInline(italic ?? italicAlt ?? "")}</i>`;
    rest = rest.slice(match.index + whole.length);
  }
  return html + escapeHtml(rest);
}

function renderLine(line: string): string {
  const heading = /^#{1,6}\s+(.*)$/.exec(line);
  if (heading) return `<b>${renderInline(heading[1] ?? "")}</b>`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1] ?? ""}• ${renderInline(bullet[2] ?? "")}`;
  return renderInline(line);
}

/** Renders Markdown as Telegram HTML: bold, italic, strike, inline code, fenced code blocks and links. */
export function markdownToTelegramHtml(markdown: string): string {
  const lines = markdown.split("\n");
  const out: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? "";
    const fence = /^\s*```\s*([\w+-]*)\s*$/.exec(line);
    const close = fence
      ? lines.findIndex((candidate, at) => at > index && /^\s*```\s*$/.test(candidate))
      : -1;
    if (fence && close > index) {
      const code = escapeHtml(lines.slice(index + 1, close).join("\n"));
      const language = fence[1] ? ` class="language-${escapeAttribute(fence[1])}"` : "";
      out.push(language ? `<pre><code${language}>${code}</code></pre>` : `<pre>${code}</pre>`);
      index = close;
    } else {
      out.push(renderLine(line));
    }
  }
  return out.join("\n");
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
