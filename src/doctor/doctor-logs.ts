// Doctor's log check: health text is logged only at debug, so an info-or-above line carrying a message body
// means something leaked into the log files.

import * as fs from "node:fs";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { Finding } from "./doctor.js";

/** pino's level number for info. */
const INFO_LEVEL = 30;
/** Keys under which message bodies travel in medbot and its libraries. */
const BODY_KEYS = new Set(["text", "body", "content", "caption", "html", "prompt", "reply", "transcript"]);
/** Line numbers named per file before "and N more". */
const SHOWN_LINES = 5;

/** logs.bodies: log files (logs/*.log, rotated too) with info-or-above lines carrying message text. */
export async function checkLogBodies(logs: string): Promise<Finding[]> {
  let names: string[];
  try {
    names = fs.readdirSync(logs).filter((name) => /\.log(\.\d+)?$/.test(name));
  } catch {
    return [];
  }
  const findings: Finding[] = [];
  for (const name of names.sort()) {
    const file = path.join(logs, name);
    const lines = await linesWithBodies(file);
    if (lines.length === 0) continue;
    const shown = lines.slice(0, SHOWN_LINES).join(", ");
    findings.push({
      id: "logs.bodies",
      severity: "high",
      what: `${file} has ${lines.length} line(s) at info level or above carrying message text (line ${shown}${lines.length > SHOWN_LINES ? ", ..." : ""}).`,
      why: "Health text belongs in the archive, not in logs: log files are copied, shared for support and kept longer than anyone remembers.",
      fix: `Delete or redact those lines (or the file) after reading them; keep MEDBOT_LOG_LEVEL at info, and report which message logged text at info as a bug.`,
      fixable: false,
      paths: [file],
    });
  }
  return findings;
}

/** 1-based numbers of the lines whose level is info or above and which carry a body-like field. */
async function linesWithBodies(file: string): Promise<number[]> {
  const found: number[] = [];
  const reader = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  try {
    for await (const line of reader) {
      number++;
      const entry = parseLine(line);
      if (entry && typeof entry.level === "number" && entry.level >= INFO_LEVEL && carriesBody(entry, 0)) {
        found.push(number);
      }
    }
  } catch {
    // An unreadable file is reported by the permission checks.
  }
  return found;
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** True when a body key holds non-empty text, at the top or nested a few levels (`{ message: { text } }`). */
function carriesBody(node: unknown, depth: number): boolean {
  if (depth > 3 || node === null || typeof node !== "object") return false;
  return Object.entries(node).some(
    ([key, value]) =>
      (BODY_KEYS.has(key) && typeof value === "string" && value.trim() !== "") ||
      carriesBody(value, depth + 1),
  );
}
