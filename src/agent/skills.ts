// Skills: SKILL.md folders (built-in and workspace) with YAML frontmatter; the model sees only a compact list.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { packagePath } from "../package-root.js";

/** medbot's own skills folder, beside src/. */
export const BUILTIN_SKILLS_DIR = packagePath("skills");

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
});

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
}

/** Loads built-in skills, then workspace skills; one reusing a built-in name is reported invalid, not used. */
export function loadSkills(workspace: string, env: NodeJS.ProcessEnv = process.env): Skill[] {
  const builtin = readSkillFolder(BUILTIN_SKILLS_DIR, "builtin", env);
  const names = new Set(builtin.map((s) => s.name));
  const own = readSkillFolder(path.join(workspace, "skills"), "workspace", env).map((s) =>
    names.has(s.name) && !s.invalid
      ? { ...s, invalid: `a built-in skill is named "${s.name}"; rename the folder and the name` }
      : s,
  );
  return [...builtin, ...own];
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
  const base = {
    name: folder,
    description: "",
    source,
    location: `skills/${folder}/SKILL.md`,
    file,
    missing: [],
  };
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    return { ...base, invalid: `cannot be read: ${(error as Error).message}` };
  }
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (!match) return { ...base, invalid: "no YAML frontmatter" };
  let data: unknown;
  try {
    data = parseYaml(match[1]!);
  } catch (error) {
    return { ...base, invalid: `frontmatter is not valid YAML: ${(error as Error).message}` };
  }
  const parsed = frontmatterSchema.safeParse(data);
  if (!parsed.success) return { ...base, invalid: z.prettifyError(parsed.error) };
  const { name, description, requires } = parsed.data;
  // The model finds a skill at skills/<name>/SKILL.md, so the name must be the folder's.
  if (name !== folder) return { ...base, invalid: `name "${name}" differs from its folder "${folder}"` };
  const missing = [
    ...(requires?.bins ?? []).filter((bin) => !onPath(bin, env)).map((bin) => `binary ${bin}`),
    ...(requires?.env ?? []).filter((name) => !env[name]).map((name) => `env ${name}`),
  ];
  return { ...base, name, description, missing };
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

/** The compact list for the system prompt: one line per skill. */
export function skillsSummary(skills: readonly Skill[]): string {
  return skills
    .filter((skill) => !skill.invalid)
    .map((skill) => {
      const note = skill.missing.length ? ` (unavailable: needs ${skill.missing.join(", ")})` : "";
      return `- ${skill.name}: ${skill.description}${note}`;
    })
    .join("\n");
}
