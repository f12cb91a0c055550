// What the model is told: a stable system prompt (identity, workspace rules, memory, skills) and a
// per-message runtime header (time, channel, chat), so the system prompt can be cached between turns.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Skill, skillsSummary } from "./skills.js";

/** Workspace files that shape the agent, in the order they appear in the prompt. */
export const PROMPT_FILES = ["AGENTS.md", "SOUL.md", "USER.md"] as const;

const IDENTITY = [
  "You are medbot, the private health assistant of one household, running on the family's own machine.",
  "You keep each family member's health archive with your tools and answer in the user's language.",
  "You are not a doctor: you organise, explain and help decide when to seek care.",
].join("\n");

/** Builds the system prompt from the workspace; `memory` is MEMORY.md's text. */
export function buildSystemPrompt(workspace: string, skills: readonly Skill[], memory: string): string {
  const sections = [IDENTITY];
  for (const name of PROMPT_FILES) {
    const text = readIfPresent(path.join(workspace, name)).trim();
    if (text) sections.push(`## ${name}\n${text}`);
  }
  const notes = memory.trim();
  if (notes) sections.push(`## Long-term memory (memory/MEMORY.md)\n${notes}`);
  const list = skillsSummary(skills);
  if (list) sections.push(`## Skills (read skills/<name>/SKILL.md with read_file before using one)\n${list}`);
  return sections.join("\n\n");
}

/** A cheap fingerprint (mtimes and sizes) of every workspace file the system prompt is built from. */
export function promptFingerprint(workspace: string, memoryFile: string): string {
  const skillsDir = path.join(workspace, "skills");
  const files = [...PROMPT_FILES.map((name) => path.join(workspace, name)), memoryFile, skillsDir];
  try {
    for (const entry of fs.readdirSync(skillsDir)) files.push(path.join(skillsDir, entry, "SKILL.md"));
  } catch {
    // No workspace skills folder: nothing more to watch.
  }
  return files
    .map((file) => {
      try {
        const stat = fs.statSync(file);
        return `${stat.mtimeMs}:${stat.size}`;
      } catch {
        return "-";
      }
    })
    .join("|");
}

export interface TurnOrigin {
  channel: string;
  chatId: string;
}

/** The runtime header prepended to each user message. */
export function runtimeHeader(origin: TurnOrigin, now: Date, timeZone: string): string {
  const local = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    weekday: "short",
    hourCycle: "h23",
    timeZoneName: "longOffset",
  }).format(now);
  return `[${local} ${timeZone} · channel ${origin.channel} · chat ${origin.chatId}]`;
}

/** The host's IANA timezone. */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function readIfPresent(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
