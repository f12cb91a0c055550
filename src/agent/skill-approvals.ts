// Approvals of workspace skills: the owner reviews a SKILL.md and `medbot skills approve NAME` records the
// sha256 of that exact file; a skill whose file changed since is unapproved again and leaves the prompt.
import { type Actor, hostOwner } from "../access/actor.js";
import { appendAudit } from "../audit/audit-log.js";
import { type Db, nowIso, writeTransaction } from "../storage/db.js";
import { loadSkills, type SkillApproval } from "./skills.js";

/** A refusal to approve, naming the skill and what to do. */
export class SkillApprovalError extends Error {}

export interface SkillApprovalStatus {
  name: string;
  state: SkillApproval;
  /** Why the file is not usable as a skill at all (approval does not change that). */
  invalid?: string;
}

/** The approved hash of each skill name. */
export function approvedSkillHashes(db: Db): Map<string, string> {
  const rows = db.prepare("SELECT name, sha256 FROM skill_approvals").all() as {
    name: string;
    sha256: string;
  }[];
  return new Map(rows.map((row) => [row.name, row.sha256]));
}

/** Changes whenever an approval is added or replaced (for the agent's cached system prompt). */
export function skillApprovalsFingerprint(db: Db): string {
  const rows = db.prepare("SELECT name, sha256 FROM skill_approvals ORDER BY name").all() as {
    name: string;
    sha256: string;
  }[];
  return rows.map((row) => `${row.name}=${row.sha256}`).join(",");
}

/** Every workspace skill with its approval state: what doctor reports as new or changed. */
export function skillApprovals(
  db: Db,
  workspace: string,
  env: NodeJS.ProcessEnv = process.env,
): SkillApprovalStatus[] {
  return loadSkills(workspace, env, approvedSkillHashes(db))
    .filter((skill) => skill.source === "workspace")
    .map((skill) => ({
      name: skill.name,
      state: skill.approval ?? "new",
      ...(skill.invalid ? { invalid: skill.invalid } : {}),
    }));
}

/** Approves a workspace skill as its SKILL.md is now; audited. Returns the recorded hash. */
export function approveSkill(
  db: Db,
  workspace: string,
  name: string,
  actor: Actor = hostOwner("cli"),
  clock: () => Date = () => new Date(),
): { name: string; sha256: string; alreadyApproved: boolean } {
  const skills = loadSkills(workspace, process.env, approvedSkillHashes(db));
  const skill = skills.find((s) => s.source === "workspace" && s.name === name);
  if (!skill) {
    const builtin = skills.some((s) => s.source === "builtin" && s.name === name);
    throw new SkillApprovalError(
      builtin
        ? `"${name}" is a built-in skill; built-in skills need no approval.`
        : `There is no workspace skill "${name}" (expected ${workspace}/skills/${name}/SKILL.md); see medbot skills list.`,
    );
  }
  if (skill.invalid) throw new SkillApprovalError(`Skill "${name}" cannot be approved: ${skill.invalid}.`);
  if (skill.approval === "approved") return { name, sha256: skill.sha256, alreadyApproved: true };
  writeTransaction(db, () => {
    db.prepare(
      `INSERT INTO skill_approvals (name, sha256, approved_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, approved_at = excluded.approved_at`,
    ).run(name, skill.sha256, nowIso(clock));
    appendAudit(
      db,
      actor,
      {
        action: "skill.approve",
        entity: "skill",
        entityId: name,
        note: `sha256 ${skill.sha256.slice(0, 16)}`,
      },
      clock,
    );
  });
  return { name, sha256: skill.sha256, alreadyApproved: false };
}
