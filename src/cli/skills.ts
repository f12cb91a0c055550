// `medbot skills list [--json]` and `medbot skills approve NAME`: which skills the model is offered, and the
// owner's approval of a workspace skill (bound to the sha256 of its SKILL.md as it is now).
import * as fs from "node:fs";
import type { Command } from "commander";
import { approvedSkillHashes, approveSkill, SkillApprovalError } from "../agent/skill-approvals.js";
import { loadSkills, type Skill } from "../agent/skills.js";
import type { MedbotPaths } from "../config/paths.js";
import { openDatabase } from "../storage/db.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";
import { table } from "./table.js";

/** Registers `medbot skills list | approve`. */
export function registerSkills(program: Command): void {
  const skills = program
    .command("skills")
    .description("built-in and workspace skills; a workspace skill reaches the model only once approved");

  skills
    .command("list")
    .description("every skill with its state: built-in, approved, new, changed (since approval) or invalid")
    .option("--json", "machine-readable output")
    .action((_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { json?: boolean }>();
      const { paths } = openInstance(options);
      // Listing must not create an archive: without a database nothing is approved yet.
      const approved = fs.existsSync(paths.database) ? readApprovals(paths) : new Map<string, string>();
      const found = loadSkills(paths.workspace, process.env, approved);
      process.stdout.write(
        `${options.json ? JSON.stringify(found.map(skillJson), null, 2) : listText(found)}\n`,
      );
    });

  skills
    .command("approve")
    .description("approve a workspace skill as its SKILL.md is now (review the file first); audited")
    .argument("<name>", "the skill's folder name under workspace/skills")
    .action((name: string, _options, command: Command) => {
      const { paths } = openInstance(command.optsWithGlobals<GlobalOptions>());
      const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
      try {
        const result = approveSkill(db, paths.workspace, name);
        process.stdout.write(
          result.alreadyApproved
            ? `Skill "${name}" is already approved as it is (sha256 ${result.sha256}).\n`
            : `Approved skill "${name}" (sha256 ${result.sha256}); the model is offered it from the next turn. A change to the file needs approval again.\n`,
        );
      } catch (error) {
        if (error instanceof SkillApprovalError) throw new CliFailure(error.message);
        throw error;
      } finally {
        db.close();
      }
    });
}

function readApprovals(paths: MedbotPaths): Map<string, string> {
  const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
  try {
    return approvedSkillHashes(db);
  } finally {
    db.close();
  }
}

/** One word for where a skill stands with the model. */
function skillState(skill: Skill): string {
  if (skill.invalid) return "invalid";
  return skill.source === "builtin" ? "built-in" : (skill.approval ?? "new");
}

function skillJson(skill: Skill) {
  return {
    name: skill.name,
    source: skill.source,
    state: skillState(skill),
    offered: skillState(skill) === "built-in" || skillState(skill) === "approved",
    always: skill.always,
    description: skill.description,
    missing: skill.missing,
    location: skill.location,
    sha256: skill.sha256,
    ...(skill.invalid ? { invalid: skill.invalid } : {}),
  };
}

function listText(skills: Skill[]): string {
  const rows = skills.map((skill) => {
    const state = skillState(skill);
    const note = skill.invalid
      ? skill.invalid.split("\n")[0]!
      : state === "new" || state === "changed"
        ? `not offered to the model; review ${skill.location}, then: medbot skills approve ${skill.name}`
        : skill.missing.length
          ? `unavailable: needs ${skill.missing.join(", ")}`
          : skill.description;
    return [skill.name, skill.source, state, note];
  });
  return table([["NAME", "SOURCE", "STATE", "NOTE"], ...rows]);
}
