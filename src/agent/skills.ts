// Skills: SKILL.md folders (built-in and workspace) with YAML frontmatter; the model sees only a compact list.
// A workspace skill reaches the model only once the owner approved that exact file (medbot skills approve):
// anything able to write the workspace could otherwise give the assistant new standing instructions.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { packagePath } from "../package-root.js";

/** medbot's own skills folder, beside src/. */
export const BUILTIN_SKILLS_DIR = packagePath("skills");

const FRONTMATTER = /^---\r?\n([\s\S]*?)\r?\n---/;

const frontmatterSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes"),
  description: z.string().min(1).max(300),
  requires: z
    .object({
      bins: z.array(z.string()).default([]),
      env: z.array(z.string()).default([]),
    })
    .partial()
    .optional(),
  /** Always-on: the whole body goes into every system prompt, not only the one-line entry. */
  always: z.boolean().default(false),
});

/** A workspace skill's standing: approved as it is now, never approved, or changed since it was. */
export type SkillApproval = "approved" | "new" | "changed";

export interface Skill {
  name: string;
  description: string;
  source: "builtin" | "workspace";
  /** Where the model reads it: `skills/<name>/SKILL.md`, relative to the workspace. */
  location: string;
  file: string;
  /** Unmet requirements, like "binary pdftotext" or "env OPENWEATHER_KEY"; empty when available. */
  missing: string[];
  /** Why the file could not be read as a skill, if it could not. */
  invalid?: string;
  always: boolean;
  /** sha256 of SKILL.md's bytes ("" when unreadable): what an approval is bound to. */
  sha256: string;
  /** Workspace skills only: whether the owner approved this exact file. */
  approval?: SkillApproval;
}

/**
 * Loads built-in skills, then workspace skills; one reusing a built-in name is reported invalid, not used.
 * `approved` maps a skill name to the sha256 the owner approved; without it no workspace skill is approved.
 */
export function loadSkills(
  workspace: string,
  env: NodeJS.ProcessEnv = process.env,
  approved: ReadonlyMap<string, string> = new Map(),
): Skill[] {
  const builtin = readSkillFolder(BUILTIN_SKILLS_DIR, "builtin", env);
  const names = new Set(builtin.map((s) => s.name));
  const own = readSkillFolder(path.join(workspace, "skills"), "workspace", env).map((s): Skill => {
    const approval =
      approved.get(s.name) === s.sha256 ? "approved" : approved.has(s.name) ? "changed" : "new";
    return names.has(s.name) && !s.invalid
      ? { ...s, approval, invalid: `a built-in skill is named "${s.name}"; rename the folder and the name` }
      : { ...s, approval };
  });
  return [...builtin, ...own];
}

/** The skills the model is told about: valid, and for workspace skills approved as they are now. */
export function offeredSkills(skills: readonly Skill[]): Skill[] {
  return skills.filter((s) => !s.invalid && (s.source === "builtin" || s.approval === "approved"));
}

/** One line per workspace skill the model does not get, saying why and what to do (for logs and status). */
export function skillWarnings(skills: readonly Skill[]): string[] {
  return skills.flatMap((s) => {
    if (s.invalid) return [`skill ${s.location} is ignored: ${s.invalid}`];
    if (s.source === "builtin" || s.approval === "approved") return [];
    const why = s.approval === "changed" ? "changed since it was approved" : "not approved yet";
    return [
      `workspace skill "${s.name}" is ${why}, so it is not offered to the model; review ${s.location}, then run: medbot skills approve ${s.name}`,
    ];
  });
}

/** The bodies of offered always-on skills, for the system prompt (empty when there are none). */
export function alwaysOnSkillsText(skills: readonly Skill[]): string {
  return offeredSkills(skills)
    .filter((s) => s.always)
    .flatMap((s) => {
      const bytes = fs.readFileSync(s.file);
      // Re-read: a file changed since it was loaded (and approved) is not what the owner approved.
      if (createHash("sha256").update(bytes).digest("hex") !== s.sha256) return [];
      return [`### ${s.name}\n${bytes.toString("utf8").replace(FRONTMATTER, "").trim()}`];
    })
    .join("\n\n");
}

function readSkillFolder(dir: string, source: Skill["source"], env: NodeJS.ProcessEnv): Skill[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, "SKILL.md")))
    .map((entry) => readSkill(path.join(dir, entry.name, "SKILL.md"), entry.name, source, env))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function readSkill(file: string, folder: string, source: Skill["source"], env: NodeJS.ProcessEnv): Skill {
  let base = {
    name: folder,
    description: "",
    source,
    location: `skills/${folder}/SKILL.md`,
    file,
    missing: [],
    always: false,
    sha256: "",
  };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    return { ...base, invalid: `cannot be read: ${(error as Error).message}` };
  }
  // Hash and parse the same bytes, so what is approved is exactly what the model would be given.
  const text = bytes.toString("utf8");
  base = { ...base, sha256: createHash("sha256").update(bytes).digest("hex") };
  const match = FRONTMATTER.exec(text);
  if (!match) return { ...base, invalid: "no YAML frontmatter" };
  let data: unknown;
  try {
    data = parseYaml(match[1]!);
  } catch (error) {
    return { ...base, invalid: `frontmatter is not valid YAML: ${(error as Error).message}` };
  }
  const parsed = frontmatterSchema.safeParse(data);
  if (!parsed.success) return { ...base, invalid: z.prettifyError(parsed.error) };
  const { name, description, requires, always } = parsed.data;
  // The model finds a skill at skills/<name>/SKILL.md, so the name must be the folder's.
  if (name !== folder) return { ...base, invalid: `name "${name}" differs from its folder "${folder}"` };
  const missing = [
    ...(requires?.bins ?? []).filter((bin) => !onPath(bin, env)).map((bin) => `binary ${bin}`),
    ...(requires?.env ?? []).filter((name) => !env[name]).map((name) => `env ${name}`),
  ];
  return { ...base, name, description, missing, always };
}

function onPath(binary: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, binary), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The compact list for the system prompt: one line per offered skill. */
export function skillsSummary(skills: readonly Skill[]): string {
  return offeredSkills(skills)
    .map((skill) => {
      const note = skill.missing.length ? ` (unavailable: needs ${skill.missing.join(", ")})` : "";
      return `- ${skill.name}: ${skill.description}${note}`;
    })
    .join("\n");
}
