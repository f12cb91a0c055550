// Doctor's exec checks: the shell tool when on, its sandbox (bubblewrap) missing, and its network when given.
import { BUBBLEWRAP_FIX, execSandboxProblem, locateBubblewrap } from "../agent/tools/sandbox.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Finding } from "./doctor.js";

/**
 * tools.exec (medium when on), tools.exec.sandbox (high: on without a working bwrap on `searchPath`), tools.exec.network
 * (medium).
 */
export function checkExec(
  exec: MedbotConfig["tools"]["exec"],
  searchPath: string = process.env.PATH ?? "",
): Finding[] {
  if (!exec.enabled) return [];
  const findings: Finding[] = [
    {
      id: "tools.exec",
      severity: "medium",
      what: `tools.exec is enabled (owners only, in a bubblewrap sandbox without the database and secrets, ${exec.timeout} s timeout, ${exec.deny.length} extra deny pattern(s)).`,
      why: "A shell command can still change or delete the workspace's own files, and a model misled by an injected message could run one for an owner.",
      fix: "Set tools.exec.enabled to false unless you need it; run the gateway as a dedicated user if you do.",
      fixable: false,
    },
  ];
  const problem = execSandboxProblem(exec.network, searchPath);
  if (problem && locateBubblewrap(searchPath) === undefined) {
    findings.push({
      id: "tools.exec.sandbox",
      severity: "high",
      what: "tools.exec is enabled but bubblewrap (bwrap) is not on PATH, so exec is not offered.",
      why: "exec runs commands only inside a bubblewrap sandbox; without it the household asked for a tool that cannot work.",
      fix: `Install it (${BUBBLEWRAP_FIX}), or set tools.exec.enabled to false.`,
      fixable: false,
    });
  } else if (problem) {
    findings.push({
      id: "tools.exec.sandbox",
      severity: "high",
      what: "tools.exec is enabled but bubblewrap cannot build its sandbox on this machine, so exec is not offered.",
      why: problem,
      fix: "Allow unprivileged user namespaces for bwrap, or set tools.exec.enabled to false.",
      fixable: false,
    });
  }
  if (exec.network) {
    findings.push({
      id: "tools.exec.network",
      severity: "medium",
      what: "tools.exec.network is true: commands run with this machine's network.",
      why: "A command can then send whatever the workspace holds to any host, and reach services listening on this machine.",
      fix: "Set tools.exec.network to false unless a command you need must download something.",
      fixable: false,
    });
  }
  return findings;
}
