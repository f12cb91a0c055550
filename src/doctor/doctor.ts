// `medbot doctor`: checks a deployment against the security checklist and, with --fix, repairs what it can.
// Every check returns findings; none throws for an insecure deployment, so doctor reports even a broken one.
import { ConfigError, type LoadedConfig, loadConfig } from "../config/load.js";
import { type MedbotPaths, resolvePaths } from "../config/paths.js";
import type { TightenedPath } from "../storage/private-fs.js";
import { checkAuditLog } from "./doctor-audit.js";
import { checkBridgeSocket } from "./doctor-bridge.js";
import { checkCodeModes } from "./doctor-code.js";
import { checkBridge, checkChannels, checkGateway, checkRootUser, checkTools } from "./doctor-config.js";
import { checkEmailAuthentication } from "./doctor-email.js";
import { checkDatabaseIntact, checkFileModes, fixFileModes } from "./doctor-files.js";
import { checkLocation, checkTrackedSecrets } from "./doctor-location.js";
import { checkLogBodies } from "./doctor-logs.js";
import { checkRetiredMembers } from "./doctor-members.js";
import { checkUnlinkedSenders } from "./doctor-people.js";
import { checkScheduledTargets } from "./doctor-schedules.js";
import { checkWorkspaceSkills } from "./doctor-skills.js";

export const SEVERITIES = ["high", "medium", "low", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One problem (or fact worth knowing) about a deployment, with the reason it matters and the way out. */
export interface Finding {
  /** Stable id, referred to by SECURITY.md: perms.mode, channels.open, secrets.git, ... */
  id: string;
  severity: Severity;
  what: string;
  why: string;
  fix: string;
  /** True when `medbot doctor --fix` repairs it. */
  fixable: boolean;
  /** The files concerned, when there are any. */
  paths?: string[];
}

export interface DoctorOptions {
  /** --config PATH; otherwise MEDBOT_HOME or ~/.medbot. */
  configPath?: string;
  fix?: boolean;
  /** --allow-root was given (MEDBOT_ALLOW_ROOT=1 in `env` counts too). */
  allowRoot?: boolean;
  uid?: number;
  env?: NodeJS.ProcessEnv;
}

export interface DoctorReport {
  findings: Finding[];
  /** What --fix changed. */
  fixed: TightenedPath[];
  summary: Record<Severity, number> & { fixed: number };
}

/** Runs every check (after repairing modes when `fix` is set) and returns the findings, worst first. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const { loaded, configFindings } = loadForDoctor(options.configPath, env);
  const paths = loaded?.paths ?? resolvePaths({ configPath: options.configPath }, env);
  const uid = options.uid ?? process.getuid?.();
  const fixed = options.fix ? fixFileModes(paths, uid) : [];
  const findings = [
    ...configFindings,
    ...checkRootUser(uid, options.allowRoot === true || env.MEDBOT_ALLOW_ROOT === "1"),
    ...checkFileModes(paths, uid),
    ...checkCodeModes(uid),
    ...checkDatabaseIntact(paths),
    ...checkBridgeSocket(paths, uid),
    ...checkLocation(paths),
    ...(await checkTrackedSecrets(paths, loaded?.config)),
    ...(loaded ? configChecks(loaded) : []),
    ...(loaded ? checkScheduledTargets(loaded.config, paths) : []),
    ...(loaded ? checkUnlinkedSenders(loaded.config, paths) : []),
    ...(loaded ? checkRetiredMembers(loaded.config, paths) : []),
    ...checkWorkspaceSkills(paths),
    ...(await checkLogBodies(paths.logs)),
    ...checkAuditLog(paths),
  ];
  findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
  return { findings, fixed, summary: summarize(findings, fixed.length) };
}

/** True when any high finding is left: doctor then exits 1. */
export function hasHighFinding(report: DoctorReport): boolean {
  return report.summary.high > 0;
}

function configChecks({ config, paths }: LoadedConfig): Finding[] {
  return [
    ...checkChannels(config),
    ...checkEmailAuthentication(config, paths),
    ...checkGateway(config),
    ...checkBridge(config),
    ...checkTools(config),
  ];
}

/** The config, or the finding that it does not load: an insecure or broken config must still be reported. */
function loadForDoctor(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
): { loaded?: LoadedConfig; configFindings: Finding[] } {
  try {
    const loaded = loadConfig({ configPath }, env);
    return { loaded, configFindings: loaded.exists ? [] : [missingConfig(loaded.paths)] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      configFindings: [
        {
          id: "config.invalid",
          severity: "high",
          what: error.message.split("\nFix the file")[0] ?? error.message,
          why: "medbot will not start with this config, and doctor cannot check channels, gateway or tools until it loads.",
          fix: "Correct the keys named above (medbot status shows the same errors), then run medbot doctor again.",
          fixable: false,
          paths: [error.file],
        },
      ],
    };
  }
}

function missingConfig(paths: MedbotPaths): Finding {
  return {
    id: "config.missing",
    severity: "info",
    what: `${paths.configFile} does not exist yet.`,
    why: "Without a config no channel is enabled; the config checks had nothing to check.",
    fix: "Run medbot onboard.",
    fixable: false,
    paths: [paths.configFile],
  };
}

function summarize(findings: readonly Finding[], fixed: number): DoctorReport["summary"] {
  const count = (severity: Severity) => findings.filter((f) => f.severity === severity).length;
  return { high: count("high"), medium: count("medium"), low: count("low"), info: count("info"), fixed };
}
