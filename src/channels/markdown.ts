// The one Markdown tokenizer every channel's renderer reads: the agent writes Markdown, and each platform
// wants its own markup (Telegram HTML, WhatsApp's *bold*, QQ plain text, Feishu's choice of message type).
// Blocks are line-based (a closed ``` fence, a heading, a bullet, any other line); spans are code, bold,
// strike, links and italic, earliest match first and code first, so nothing inside code is formatted.

/** An inline piece of one line. `source` is the Markdown it came from, markers included. */
export type MarkdownSpan =
  | { kind: "text"; source: string }
  | { kind: "code"; source: string; code: string }
  | { kind: "bold" | "strike" | "italic"; source: string; marker: string; children: MarkdownSpan[] }
  | { kind: "link"; source: string; label: string; url: string; children: MarkdownSpan[] };

/** A block: a fenced code block, or one line of text with its spans. */
export type MarkdownBlock =
  /** `opener` and `closer` are the fence lines as written. */
  | { kind: "code"; language: string; code: string; opener: string; closer: string }
  | { kind: "heading"; spans: MarkdownSpan[] }
  /** `indent` is the whitespace before the marker; `prefix` is the marker and its spaces, as written. */
  | { kind: "bullet"; indent: string; prefix: string; spans: MarkdownSpan[] }
  | { kind: "line"; spans: MarkdownSpan[] };

const OPEN_FENCE = /^\s*```\s*([\w+-]*)\s*$/;
const CLOSE_FENCE = /^\s*```\s*$/;
const HEADING = /^#{1,6}\s+(.*)$/;
const BULLET = /^(\s*)([-*+]\s+)(.*)$/;

/** Inline spans, earliest match wins: code first so nothing inside it is formatted. */
const INLINE =
  /`([^`\n]+)`|\*\*(.+?)\*\*|__(.+?)__|~~(.+?)~~|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])/;

/** The blocks of `markdown`, one per line except a fenced code block (only a closed fence is one). */
export function markdownBlocks(markdown: string): MarkdownBlock[] {
  const lines = markdown.split("\n");
  const blocks: MarkdownBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? "";
    const fence = OPEN_FENCE.exec(line);
    const close = fence ? lines.findIndex((candidate, at) => at > index && CLOSE_FENCE.test(candidate)) : -1;
    if (fence && close > index) {
      const code = lines.slice(index + 1, close).join("\n");
      blocks.push({ kind: "code", language: fence[1] ?? "", code, opener: line, closer: lines[close] ?? "" });
      index = close;
      continue;
    }
    const heading = HEADING.exec(line);
    const bullet = BULLET.exec(line);
    if (heading) blocks.push({ kind: "heading", spans: markdownSpans(heading[1] ?? "") });
    else if (bullet)
      blocks.push({
        kind: "bullet",
        indent: bullet[1] ?? "",
        prefix: bullet[2] ?? "",
        spans: markdownSpans(bullet[3] ?? ""),
      });
    else blocks.push({ kind: "line", spans: markdownSpans(line) });
  }
  return blocks;
}

/** The inline spans of one line of text. */
export function markdownSpans(text: string): MarkdownSpan[] {
  const spans: MarkdownSpan[] = [];
  let rest = text;
  for (let match = INLINE.exec(rest); match; match = INLINE.exec(rest)) {
    if (match.index > 0) spans.push({ kind: "text", source: rest.slice(0, match.index) });
    const [source, code, bold, boldAlt, strike, label, url, italic, italicAlt] = match;
    if (code !== undefined) spans.push({ kind: "code", source, code });
    else if (bold !== undefined || boldAlt !== undefined) {
      const inner = bold ?? boldAlt ?? "";
      spans.push({ kind: "bold", source, marker: source.slice(0, 2), children: markdownSpans(inner) });
    } else if (strike !== undefined)
      spans.push({ kind: "strike", source, marker: "~~", children: markdownSpans(strike) });
    else if (label !== undefined && url !== undefined)
      spans.push({ kind: "link", source, label, url, children: markdownSpans(label) });
    else {
      const inner = italic ?? italicAlt ?? "";
      spans.push({ kind: "italic", source, marker: source.slice(0, 1), children: markdownSpans(inner) });
    }
    rest = rest.slice(match.index + source.length);
  }
  if (rest) spans.push({ kind: "text", source: rest });
  return spans;
}

/** Whether any span formats its text (the reply needs a renderer that knows Markdown). */
export function hasFormatting(blocks: readonly MarkdownBlock[]): boolean {
  return blocks.some((block) => block.kind !== "code" && block.spans.some((span) => span.kind !== "text"));
}
