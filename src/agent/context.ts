// What the model is told: a stable system prompt (identity, workspace rules, memory, skills) and a
// per-message runtime header (time, channel, chat), so the system prompt can be cached between turns.
// What a person's context may hold is decided here too: owners (grants "*") get the household's USER.md and
// memory/MEMORY.md; anyone else gets neither (both name every member), only their own notes, and reaches
// through the file tools only the workspace files that hold nothing about members outside their grants.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Actor, mayAccess } from "../access/actor.js";
import { MEDIA_DIR, mayReadReceived } from "../access/received-files.js";
import { personalMemoryPath } from "./memory.js";
import { alwaysOnSkillsText, type Skill, skillsSummary } from "./skills.js";

/** Workspace files that shape the agent, in the order they appear in the prompt. */
export const PROMPT_FILES = ["AGENTS.md", "SOUL.md", "USER.md"] as const;

/** USER.md describes the household (its members, who looks after whom): for owners only. */
const HOUSEHOLD_FILES: ReadonlySet<string> = new Set(["USER.md"]);

const IDENTITY = [
  "You are medbot, the private health assistant of one household, running on the family's own machine.",
  "You keep each family member's health archive with your tools and answer in the user's language.",
  "You are not a doctor: you organise, explain and help decide when to seek care.",
].join("\n");

const LIMITED_ACCESS = [
  "## Access",
  "The person in this conversation is granted only some family members. The household description, the",
  "owners' notes and the records of other members are not available here: use the tools for what this",
  "person may see, and do not guess about anyone else.",
].join("\n");

/** What one person's system prompt is made of, besides the shared workspace rules and skills. */
export interface PromptView {
  /** True for owners (grants "*"): USER.md, the household description, is included. */
  household: boolean;
  /** The long-term notes shown: where they live (workspace-relative) and their text. */
  memory: { location: string; text: string };
}

/** Builds the system prompt from the workspace, for an owner or for a person with limited grants. */
export function buildSystemPrompt(workspace: string, skills: readonly Skill[], view: PromptView): string {
  const sections = [IDENTITY];
  for (const name of PROMPT_FILES) {
    if (HOUSEHOLD_FILES.has(name) && !view.household) continue;
    const text = readIfPresent(path.join(workspace, name)).trim();
    if (text) sections.push(`## ${name}\n${text}`);
  }
  if (!view.household) sections.push(LIMITED_ACCESS);
  const notes = view.memory.text.trim();
  if (notes) sections.push(`## Long-term memory (${view.memory.location})\n${notes}`);
  const list = skillsSummary(skills);
  if (list) sections.push(`## Skills (read skills/<name>/SKILL.md with read_file before using one)\n${list}`);
  const always = alwaysOnSkillsText(skills);
  if (always) sections.push(`## Always-on skills\n${always}`);
  return sections.join("\n\n");
}

/** Workspace files and folders a person with limited grants may only read (they shape every prompt). */
const SHARED_READ_ONLY = new Set(["", "AGENTS.md", "SOUL.md", "skills"]);

/**
 * Why a file tool may not use this workspace path for this actor, or undefined when it may. Owners may use
 * every path. Anyone else: read the shared rules, skills, the files they sent (media/<channel>/<their sender>/,
 * see received-files.ts), their granted members' folders,
 * and read and write their own notes; nothing else (USER.md, HEARTBEAT.md, the owners' MEMORY.md, other
 * people's notes, the database and other members' folders all hold what their grants do not cover).
 */
export function workspaceRefusal(
  actor: Actor,
  relative: string,
  purpose: "read" | "write",
): string | undefined {
  if (actor.grants === "*") return undefined;
  const parts = relative.split(path.sep).filter(Boolean);
  const top = parts[0] ?? "";
  const own = personalMemoryPath(actor.person);
  const allowed =
    relative === own ||
    (purpose === "read" &&
      (SHARED_READ_ONLY.has(top) ||
        (top === MEDIA_DIR && mayReadReceived(actor, parts)) ||
        (top === "family" && parts.length > 1 && mayAccess(actor, parts[1]!))));
  if (allowed) return undefined;
  return (
    `"${relative || "."}" is not available in this conversation: it belongs to the household's owners or to ` +
    "members this person is not granted. Use the archive tools for the members they may see."
  );
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

const headerFormats = new Map<string, Intl.DateTimeFormat>();

/** The runtime header prepended to each user message. */
export function runtimeHeader(origin: TurnOrigin, now: Date, timeZone: string): string {
  let format = headerFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
    headerFormats.set(timeZone, format);
  }
  const local = format.format(now);
  return `[${local} ${timeZone} · channel ${origin.channel} · chat ${origin.chatId}]`;
}

function readIfPresent(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
