// The model rewrites a notes file (MEMORY.md, memory/people/<person>.md) whole, so a chatty or truncated answer
// would wipe the household's notes. New notes are checked against the old before they replace them, and the
// old version is kept in a bounded history beside the file.
import * as fs from "node:fs";
import * as path from "node:path";
import { writePrivateFile } from "../storage/private-fs.js";

/** Below this many characters old notes may be rewritten to any length (a fresh template is about 400). */
export const SHRINK_GUARD_MIN_CHARS = 600;
/** New notes shorter than this share of the old (when the old reach SHRINK_GUARD_MIN_CHARS) are refused. */
export const SHRINK_GUARD_RATIO = 0.5;
/** Previous versions kept per notes file; older ones are deleted. */
export const NOTES_HISTORY_LIMIT = 10;

/** New notes the model gave that would lose the old; `reason` names counts only, never content. */
export class NotesRefused extends Error {
  constructor(readonly reason: string) {
    super(`the model's new notes were refused: ${reason}`);
    this.name = "NotesRefused";
  }
}

/** Markdown headings of `text`, compared without their level, case or spacing. */
function headingsOf(text: string): string[] {
  return text
    .split("\n")
    .map((line) => /^#{1,6}\s+(.*\S)\s*$/.exec(line)?.[1])
    .filter((heading): heading is string => heading !== undefined)
    .map((heading) => heading.replace(/\s+/g, " ").toLowerCase());
}

/**
 * Why `next` may not replace `previous`, or undefined when it may. Notes with headings must keep every heading
 * and start with one (text before it is the model talking, not the file); notes of SHRINK_GUARD_MIN_CHARS or
 * more may not shrink below SHRINK_GUARD_RATIO of their length.
 */
export function notesRefusal(previous: string, next: string): string | undefined {
  const old = previous.trim();
  const fresh = next.trim();
  if (!fresh) return "the answer was empty";
  if (!old) return undefined;
  const oldHeadings = headingsOf(old);
  if (oldHeadings.length > 0) {
    const kept = new Set(headingsOf(fresh));
    const dropped = oldHeadings.filter((heading) => !kept.has(heading)).length;
    if (dropped === oldHeadings.length) return `it has none of the ${dropped} headings`;
    if (dropped > 0) return `it drops ${dropped} of the ${oldHeadings.length} headings`;
    if (!/^#{1,6}\s/.test(fresh)) return "it has text before the first heading";
  }
  if (old.length >= SHRINK_GUARD_MIN_CHARS && fresh.length < old.length * SHRINK_GUARD_RATIO) {
    return `it shrinks the notes from ${old.length} to ${fresh.length} characters`;
  }
  return undefined;
}

/** Where earlier versions of `file` are kept: a history folder beside it. */
export function notesHistoryDir(file: string): string {
  return path.join(path.dirname(file), "history");
}

/**
 * Saves `text` (the version about to be replaced) as history/<name>.<timestamp>.md beside `file`, 0600, then
 * deletes the oldest versions beyond NOTES_HISTORY_LIMIT.
 */
export function keepPreviousNotes(file: string, text: string, now: Date): string {
  const dir = notesHistoryDir(file);
  const name = path.basename(file, ".md");
  const stamp = now.toISOString().replaceAll(":", "-");
  let target = path.join(dir, `${name}.${stamp}.md`);
  // Two replacements in the same millisecond each keep their own version.
  for (let n = 1; fs.existsSync(target); n++) target = path.join(dir, `${name}.${stamp}-${n}.md`);
  writePrivateFile(target, text);
  const version = /^(.+)\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z(?:-\d+)?\.md$/;
  const versions = fs
    .readdirSync(dir)
    .filter((entry) => version.exec(entry)?.[1] === name)
    .sort();
  for (const old of versions.slice(0, Math.max(0, versions.length - NOTES_HISTORY_LIMIT))) {
    fs.rmSync(path.join(dir, old), { force: true });
  }
  return target;
}
