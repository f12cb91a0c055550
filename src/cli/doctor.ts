// `medbot doctor [--fix] [--json]`: the security checklist, checked; exit 1 while any high finding remains.
import type { Command } from "commander";
import { type DoctorReport, hasHighFinding, runDoctor, SEVERITIES } from "../doctor/doctor.js";
import { formatMode } from "../storage/private-fs.js";
import type { GlobalOptions } from "./startup.js";

/** Registers `medbot doctor`. */
export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check this deployment's security (permissions, channels, location, keys, tools, logs)")
    .option("--fix", "repair what can be repaired (file permissions), then check again")
    .option("--json", "machine-readable output")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { fix?: boolean; json?: boolean }>();
      // Not openInstance: it would tighten modes silently, and a config that does not load is a finding here.
      const report = await runDoctor({
        configPath: options.config,
        fix: options.fix === true,
        allowRoot: options.allowRoot === true,
      });
      process.stdout.write(
        options.json ? `${JSON.stringify(jsonReport(report), null, 2)}\n` : humanReport(report),
      );
      if (hasHighFinding(report)) process.exitCode = 1;
    });
}

function jsonReport(report: DoctorReport) {
  return {
    findings: report.findings,
    fixed: report.fixed.map((change) => ({
      path: change.path,
      was: formatMode(change.was),
      now: formatMode(change.now),
    })),
    summary: report.summary,
  };
}

/** Findings grouped by severity, worst first, each with what, why and how to fix; then a summary line. */
export function humanReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const change of report.fixed) {
    lines.push(`fixed: ${change.path} was ${formatMode(change.was)}, now ${formatMode(change.now)}`);
  }
  if (report.fixed.length > 0) lines.push("");
  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((finding) => finding.severity === severity);
    if (findings.length === 0) continue;
    lines.push(`${severity.toUpperCase()} (${findings.length})`);
    for (const finding of findings) {
      lines.push(`  [${finding.id}] ${finding.what}`);
      lines.push(`    why: ${finding.why}`);
      lines.push(`    fix: ${finding.fix}${finding.fixable ? " (medbot doctor --fix does this)" : ""}`);
    }
    lines.push("");
  }
  const { high, medium, low, info, fixed } = report.summary;
  const verdict =
    high > 0 ? "not safe to run as is" : medium > 0 ? "review the findings" : "all checks passed";
  lines.push(
    `Summary: ${high} high, ${medium} medium, ${low} low, ${info} info${fixed > 0 ? `; ${fixed} path(s) fixed` : ""} — ${verdict}.`,
  );
  return `${lines.join("\n")}\n`;
}
