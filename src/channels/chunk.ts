// Splits a long Markdown reply into messages a platform accepts: at paragraph, line, sentence or word
// boundaries, never inside a ``` code block unless the block alone is too long (then it is closed at
// the end of one chunk and reopened, with its language, at the start of the next).

const FENCE = /^ {0,3}```/;
const CLOSE = "\n```";

/** Splits `text` into chunks of at most `maxLength` characters (maxLength ≥ 32). */
export function chunkText(text: string, maxLength: number): string[] {
  if (maxLength < 32) throw new Error(`chunk length ${maxLength} is too small; use at least 32`);
  const chunks: string[] = [];
  let rest = text.trim();
  while (rest.length > maxLength) {
    const [chunk, next] = splitOnce(rest, maxLength);
    if (chunk.trim() !== "") chunks.push(chunk.trimEnd());
    rest = next;
  }
  if (rest.trim() !== "") chunks.push(rest);
  return chunks;
}

interface Fence {
  /** Offset of the opening fence line. */
  start: number;
  /** Offset just after the opening fence line's newline. */
  bodyStart: number;
  /** Offset of the closing fence line, or the text's length when it is never closed. */
  end: number;
  opener: string;
}

function splitOnce(text: string, max: number): [string, string] {
  const fences = findFences(text);
  const inFence = (offset: number) => fences.find((fence) => offset > fence.start && offset <= fence.end);
  const outsideCut = bestCut(text, max, (offset) => inFence(offset) === undefined);
  if (outsideCut !== undefined && outsideCut >= max / 2) return cutAt(text, outsideCut);
  const open = inFence(max);
  if (open) {
    // The window ends inside a code block: cut the block at a line end, leaving room to close the fence.
    const room = max - CLOSE.length;
    const lineEnd = text.lastIndexOf("\n", room);
    if (lineEnd > open.bodyStart) return reopen(text, lineEnd, open);
    if (open.start > 0 && outsideCut !== undefined) return cutAt(text, open.start);
    return reopen(text, Math.max(room, open.bodyStart + 1), open);
  }
  return outsideCut !== undefined ? cutAt(text, outsideCut) : cutAt(text, max);
}

/** The largest boundary at or before `max` of the best kind that `allowed` accepts. */
function bestCut(text: string, max: number, allowed: (offset: number) => boolean): number | undefined {
  const window = text.slice(0, max + 1);
  for (const boundary of [/\n\s*\n/g, /\n/g, /[.!?。！？]\s/g, /\s/g]) {
    let best: number | undefined;
    for (const match of window.matchAll(boundary)) {
      const offset = match.index + (boundary.source === "[.!?。！？]\\s" ? 1 : 0);
      if (offset > 0 && offset <= max && allowed(offset)) best = offset;
    }
    if (best !== undefined && best >= max / 2) return best;
    if (best !== undefined && boundary.source === "\\s") return best;
  }
  return undefined;
}

function cutAt(text: string, offset: number): [string, string] {
  return [text.slice(0, offset), text.slice(offset).replace(/^\s*\n|^ /, "")];
}

function reopen(text: string, offset: number, fence: Fence): [string, string] {
  const head = text.slice(0, offset);
  const tail = text.slice(offset).replace(/^\n/, "");
  return [`${head}${CLOSE}`, `${fence.opener}\n${tail}`];
}

function findFences(text: string): Fence[] {
  const fences: Fence[] = [];
  let open: { start: number; bodyStart: number; opener: string } | undefined;
  let offset = 0;
  for (const line of text.split("\n")) {
    if (FENCE.test(line)) {
      if (open) {
        fences.push({ ...open, end: offset });
        open = undefined;
      } else {
        open = { start: offset, bodyStart: offset + line.length + 1, opener: line.trim() };
      }
    }
    offset += line.length + 1;
  }
  if (open) fences.push({ ...open, end: text.length });
  return fences;
}
