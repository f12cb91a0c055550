// `medbot status`: where things are, which model, which channels, how much is stored, and file permissions.
import * as fs from "node:fs";
import type { Command } from "commander";
import { resolveProvider } from "../agent/provider.js";
import { checkProvider, type ProviderCheck } from "../agent/provider-problem.js";
import { SessionStore } from "../agent/sessions.js";
import { approvedSkillHashes } from "../agent/skill-approvals.js";
import { loadSkills, offeredSkills } from "../agent/skills.js";
import { CHANNEL_NAMES } from "../config/schema.js";
import { openDatabase } from "../storage/db.js";
import { formatMode } from "../storage/private-fs.js";
import { type GlobalOptions, openInstance } from "./startup.js";

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show config, workspace, model, channels, counts and permissions")
    .option("--json", "machine-readable output")
    .option("--check", "send one request to the model provider; exit 1 if its address, key or model is wrong")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { json?: boolean; check?: boolean }>();
      const { config, paths, exists } = openInstance(options);
      const provider = resolveProvider(config);
      let counts = { sessions: 0, messages: 0 };
      let approved = new Map<string, string>();
      if (fs.existsSync(paths.database)) {
        const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
        counts = new SessionStore(db).counts();
        approved = approvedSkillHashes(db);
        db.close();
      }
      const skills = loadSkills(paths.workspace, process.env, approved);
      const offered = new Set(offeredSkills(skills));
      const permissions = [paths.home, paths.configFile, paths.workspace, paths.database].map((path) => {
        const mode = fs.existsSync(path) ? fs.statSync(path).mode & 0o777 : undefined;
        return {
          path,
          mode: mode === undefined ? "missing" : formatMode(mode),
          private: mode === undefined || (mode & 0o077) === 0,
        };
      });
      const check: ProviderCheck | undefined = !options.check
        ? undefined
        : "problem" in provider
          ? { ok: false, problem: provider.problem }
          : await checkProvider(provider, config.agents.defaults);
      const status = {
        configFile: paths.configFile,
        configured: exists,
        workspace: paths.workspace,
        provider:
          "problem" in provider
            ? { problem: provider.problem }
            : { name: provider.name, model: provider.model },
        channels: CHANNEL_NAMES.filter((name) => config.channels[name].enabled),
        counts: {
          ...counts,
          skills: skills.filter((s) => offered.has(s) && s.missing.length === 0).length,
          skillsUnavailable: skills.filter((s) => !offered.has(s) || s.missing.length > 0).map((s) => s.name),
        },
        permissions,
        ...(check ? { check } : {}),
      };
      // A failed check fails the command, after the report is out.
      if (check && !check.ok) process.exitCode = 1;
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const lines = [
        `Config:      ${status.configFile}${exists ? "" : " (missing: run medbot onboard)"}`,
        `Workspace:   ${status.workspace}`,
        `Model:       ${"problem" in status.provider ? status.provider.problem : `${status.provider.model} via ${status.provider.name}`}`,
        `Channels:    ${status.channels.length ? status.channels.join(", ") : "none enabled"}`,
        `Sessions:    ${counts.sessions} (${counts.messages} messages)`,
        `Skills:      ${status.counts.skills} available${status.counts.skillsUnavailable.length ? `; unavailable: ${status.counts.skillsUnavailable.join(", ")}` : ""}`,
        "Permissions:",
        ...permissions.map((p) => `  ${p.private ? "ok   " : "OPEN "} ${p.mode.padEnd(7)} ${p.path}`),
        ...(check ? [`Check:       ${checkLine(check)}`] : []),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}

/** The check's line: what answered, or what is wrong. */
function checkLine(check: ProviderCheck): string {
  return check.ok ? `ok: ${check.model} answered at API base ${check.apiBase}` : `FAILED: ${check.problem}`;
}
