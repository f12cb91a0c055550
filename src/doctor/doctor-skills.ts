// Doctor's skills check: a workspace skill shapes what the model does, so it counts only once approved, and
// a changed SKILL.md needs approval again. Reads the approvals read-only; doctor never creates the database.
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { loadSkills } from "../agent/skills.js";
import type { MedbotPaths } from "../config/paths.js";
import type { Finding } from "./doctor.js";

export type SkillApprovalState = "approved" | "new" | "changed";

/** Each workspace skill (workspace/skills/NAME/SKILL.md) and whether its current file was approved. */
export function workspaceSkillStates(paths: MedbotPaths): { name: string; state: SkillApprovalState }[] {
  return loadSkills(paths.workspace, process.env, approvedHashes(paths.database))
    .filter((skill) => skill.source === "workspace")
    .map((skill) => ({ name: skill.name, state: skill.approval ?? "new" }));
}

/** skills.unapproved: workspace skills new or changed since `medbot skills approve`. */
export function checkWorkspaceSkills(paths: MedbotPaths): Finding[] {
  return workspaceSkillStates(paths)
    .filter((skill) => skill.state !== "approved")
    .map(({ name, state }) => ({
      id: "skills.unapproved",
      severity: "medium" as const,
      what:
        state === "new"
          ? `The workspace skill "${name}" has never been approved.`
          : `The workspace skill "${name}" changed since it was approved.`,
      why: "A skill is instructions the model follows; one dropped or edited in the workspace (by a tool, a sync or another person) could steer it to leak or change records.",
      fix: `Read ${path.join(paths.workspace, "skills", name, "SKILL.md")}, then run medbot skills approve ${name} (or delete the folder).`,
      fixable: false,
      paths: [path.join(paths.workspace, "skills", name, "SKILL.md")],
    }));
}

/** name -> sha256 from table skill_approvals; empty when there is no database or no table yet. */
function approvedHashes(database: string): Map<string, string> {
  if (!fs.existsSync(database)) return new Map();
  let db: Database.Database | undefined;
  try {
    db = new Database(database, { readonly: true, fileMustExist: true });
    const rows = db.prepare("SELECT name, sha256 FROM skill_approvals").all() as {
      name: string;
      sha256: string;
    }[];
    return new Map(rows.map((row) => [row.name, row.sha256]));
  } catch {
    // A database from before approvals existed: nothing is approved.
    return new Map();
  } finally {
    db?.close();
  }
}
