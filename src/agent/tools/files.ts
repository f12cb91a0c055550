// read_file, write_file, edit_file, list_dir: inside the workspace (symlinks resolved) unless configured otherwise.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { AUDIT_SIGNING_KEY_FILE } from "../../audit/audit-signature.js";
import { expandHome } from "../../config/paths.js";
import { writePrivateFile } from "../../storage/private-fs.js";
import { workspaceRefusal } from "../context.js";
import { defineTool, type ToolContext, ToolError } from "./tool.js";

const MAX_READ_CHARS = 60_000;
const MAX_DIR_ENTRIES = 500;

/**
 * Paths in the workspace that only medbot's own code writes: the database (and its audit head file) and the
 * archive's views (any case, since "Family" is "family" on a case-insensitive disk).
 */
function isProtected(relative: string): boolean {
  const top = (relative.split(path.sep)[0] ?? "").toLowerCase();
  return top === "family" || /^medbot\.db(-wal|-shm|-journal|-audit-head\.json)?$/.test(top);
}

/** Resolves a path the model gave, refusing anything that escapes the workspace. */
export function resolveToolPath(requested: string, context: ToolContext, purpose: "read" | "write"): string {
  const builtin = builtinSkillPath(requested, context);
  if (builtin && purpose === "read") return builtin;
  const target = path.resolve(context.workspace, expandHome(requested));
  const real = realPathOfNearest(target);
  const workspace = fs.realpathSync(context.workspace);
  const inside = real === workspace || real.startsWith(workspace + path.sep);
  if (context.restrictToWorkspace && !inside) {
    throw new ToolError(`"${requested}" is outside the workspace; only paths inside it can be used.`);
  }
  const refusal = inside
    ? workspaceRefusal(context.actor, path.relative(workspace, real), purpose)
    : undefined;
  if (refusal) throw new ToolError(refusal);
  // Wherever it lies (a workspace that is the data folder, tools not confined), the key stays unread.
  if (path.basename(real) === AUDIT_SIGNING_KEY_FILE) {
    throw new ToolError(`"${requested}" is the audit signing key; no tool reads or writes it.`);
  }
  if (purpose === "write" && inside && isProtected(path.relative(workspace, real))) {
    throw new ToolError(
      `"${requested}" is managed by medbot (health archive or database); change records with the archive tools.`,
    );
  }
  return real;
}

/** `skills/<name>/...` of a built-in skill maps to medbot's own skills folder (read-only). */
function builtinSkillPath(requested: string, context: ToolContext): string | undefined {
  const normal = path.posix.normalize(requested.replaceAll("\\", "/"));
  const match = /^(?:\.\/)?skills\/([a-z0-9-]+)(\/.*)?$/.exec(normal);
  if (!match) return undefined;
  const candidate = path.join(context.builtinSkills, match[1]!, match[2] ?? "");
  return candidate.startsWith(context.builtinSkills + path.sep) && fs.existsSync(candidate)
    ? candidate
    : undefined;
}

/** realpath of `target`, or of its nearest existing ancestor joined with the rest (for files not yet created). */
function realPathOfNearest(target: string): string {
  const rest: string[] = [];
  let cursor = target;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cursor), ...rest);
    } catch {
      const parent = path.dirname(cursor);
      if (parent === cursor) return target;
      rest.unshift(path.basename(cursor));
      cursor = parent;
    }
  }
}

export const readFile = defineTool({
  name: "read_file",
  description: "Read a text file (workspace-relative path). Optional 1-based line offset and line limit.",
  parameters: z.object({
    path: z.string().min(1),
    offset: z.number().int().min(1).optional(),
    limit: z.number().int().min(1).optional(),
  }),
  run({ path: requested, offset, limit }, context) {
    const file = resolveToolPath(requested, context, "read");
    if (!fs.existsSync(file)) throw new ToolError(`"${requested}" does not exist.`);
    if (fs.statSync(file).isDirectory()) throw new ToolError(`"${requested}" is a folder; use list_dir.`);
    let text = fs.readFileSync(file, "utf8");
    if (offset || limit) {
      const lines = text.split("\n");
      const start = (offset ?? 1) - 1;
      text = lines.slice(start, limit ? start + limit : undefined).join("\n");
    }
    if (text.length > MAX_READ_CHARS) {
      return `${text.slice(0, MAX_READ_CHARS)}\n[truncated at ${MAX_READ_CHARS} characters; use offset/limit]`;
    }
    return text;
  },
});

export const writeFile = defineTool({
  name: "write_file",
  description: "Create or replace a text file in the workspace (not the health archive: use its tools).",
  parameters: z.object({ path: z.string().min(1), content: z.string() }),
  run({ path: requested, content }, context) {
    const file = resolveToolPath(requested, context, "write");
    writePrivateFile(file, content);
    return `Wrote ${content.length} characters to ${requested}.`;
  },
});

export const editFile = defineTool({
  name: "edit_file",
  description: "Replace old_text, which must occur exactly once, with new_text in a workspace file.",
  parameters: z.object({ path: z.string().min(1), old_text: z.string().min(1), new_text: z.string() }),
  run({ path: requested, old_text, new_text }, context) {
    const file = resolveToolPath(requested, context, "write");
    if (!fs.existsSync(file)) throw new ToolError(`"${requested}" does not exist.`);
    const text = fs.readFileSync(file, "utf8");
    const count = text.split(old_text).length - 1;
    if (count !== 1) {
      throw new ToolError(
        count === 0
          ? `old_text was not found in ${requested}; read the file and copy the text exactly.`
          : `old_text occurs ${count} times in ${requested}; include more surrounding text so it is unique.`,
      );
    }
    writePrivateFile(
      file,
      text.replace(old_text, () => new_text),
    );
    return `Edited ${requested}.`;
  },
});

export const listDir = defineTool({
  name: "list_dir",
  description: "List a workspace folder; folders end with /.",
  parameters: z.object({ path: z.string().default(".") }),
  run({ path: requested }, context) {
    const dir = resolveToolPath(requested, context, "read");
    if (!fs.existsSync(dir)) throw new ToolError(`"${requested}" does not exist.`);
    if (!fs.statSync(dir).isDirectory()) throw new ToolError(`"${requested}" is a file; use read_file.`);
    const entries = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => !entry.name.endsWith(".tmp"))
      .map((entry) => (entry.isDirectory() ? `${entry.name}/` : entry.name))
      .sort();
    if (entries.length === 0) return `${requested} is empty.`;
    const shown = entries.slice(0, MAX_DIR_ENTRIES).join("\n");
    return entries.length > MAX_DIR_ENTRIES ? `${shown}\n[${entries.length - MAX_DIR_ENTRIES} more]` : shown;
  },
});

export const fileTools = [readFile, writeFile, editFile, listDir];
