// exec: a shell command for owners, run in a bubblewrap sandbox (sandbox.ts) that holds the workspace minus
// medbot's database and secrets, no network unless configured and none of the gateway's environment; the
// timeout ends the whole process tree. The deny-list and path check before it are a first filter only.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { appendAudit } from "../../audit/audit-log.js";
import { configSchema, type MedbotConfig } from "../../config/schema.js";
import { locateBubblewrap, missingBubblewrapReason, SANDBOX_PATH, sandboxArguments } from "./sandbox.js";
import { defineTool, type ToolContext, ToolError } from "./tool.js";

type ExecSettings = MedbotConfig["tools"]["exec"];

/** Commands refused whatever the config says: destruction, privilege, remote shells, medbot's own secrets. */
export const BUILTIN_DENY: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\brm\s+(-\S+\s+)*(\/|\/\*|~\/?|\$HOME\/?|\*)(\s|;|&|\||$)/, why: "deletes a whole tree" },
  { pattern: /--no-preserve-root/, why: "deletes from /" },
  { pattern: /\bmkfs(\.\w+)?\b|\bmke2fs\b|\bwipefs\b|\bfdisk\b|\bparted\b/, why: "formats a disk" },
  { pattern: /\bdd\b[^;&|]*\bof=\/dev\//, why: "writes to a device" },
  { pattern: />\s*\/dev\/(sd|hd|vd|xvd|nvme|mmcblk|disk|mapper)/, why: "writes to a device" },
  { pattern: /\b(shutdown|reboot|poweroff|halt)\b|\binit\s+[06]\b/, why: "stops the machine" },
  { pattern: /\b(sudo|doas|pkexec|runuser)\b|(^|[;&|(`]\s*|\s)su(\s|$)/, why: "changes user" },
  { pattern: /\|\s*(sudo\s+)?(\/\S*\/)?(ba|z|da|k|c|tc|fi)?sh\b/, why: "pipes text into a shell" },
  { pattern: /\|\s*(python\d*|perl|ruby|node|php)\b/, why: "pipes text into an interpreter" },
  { pattern: /\b(curl|wget)\b[^;&]*\|\s*\S+/, why: "pipes a download into a program" },
  {
    pattern: /\bchmod\s+(-\S+\s+)*0?777\b|\bchmod\s+(-\S+\s+)*(a|o|ugo)?\+[rwx]*w/,
    why: "opens permissions",
  },
  { pattern: /\bchown\b|\bchgrp\b/, why: "changes ownership" },
  { pattern: /\b(nc|ncat|netcat)\b[^;&|]*\s-(e|c)\b|--(sh-)?exec\b/, why: "opens a remote shell" },
  { pattern: /\/dev\/(tcp|udp)\/|\bsocat\b/, why: "opens a raw network connection" },
  { pattern: /:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}/, why: "is a fork bomb" },
  { pattern: /\b(crontab|systemctl|launchctl)\b/, why: "schedules or controls services" },
  { pattern: /\b(kill|pkill|killall)\b/, why: "stops other processes" },
  { pattern: /config\.json|\.medbot\b|whatsapp-auth|\bMEDBOT_/, why: "touches medbot's config or secrets" },
  {
    pattern: /medbot\.db|(^|[\s'"=<>/])family(\/|\s|$)/,
    why: "touches the health archive (use the archive tools)",
  },
  { pattern: /(^|[\s'"=:<>/])\.\.(\/|\s|$|['";&|)])/, why: "climbs out of the workspace (..)" },
  { pattern: /(^|\s)cd\s+-(\s|$|[;&|)])/, why: "leaves the workspace (cd -)" },
  { pattern: /\$\{?(OLDPWD|PWD)\b/, why: "refers to folders by variable" },
];

/** Absolute paths a command may name outside the workspace: null devices and system programs. */
const ALLOWED_OUTSIDE = /^\/dev\/(null|stdin|stdout|stderr|zero)$|^\/(usr\/(local\/)?)?s?bin\/[\w.+-]+$/;

export const execTool = defineTool({
  name: "exec",
  description:
    "Run a shell command in a sandbox holding the workspace (owners only; no database, no network unless configured; timeout and output cap). The archive, memory, prompt files and skills are read-only; other workspace files and folders can be changed; new files at its top level are discarded, so write into a folder. Prefer the dedicated tools.",
  parameters: z.object({ command: z.string().min(1).max(10_000) }),
  async run({ command }, context) {
    const settings = execSettings(context);
    if (!settings.enabled) throw new ToolError("exec is switched off (tools.exec.enabled).");
    if (context.actor.grants !== "*")
      throw new ToolError("exec is only for the household's owners; use the other tools.");
    const bwrap = locateBubblewrap();
    if (!bwrap) throw new ToolError(missingBubblewrapReason());
    const workspace = fs.realpathSync(context.workspace);
    refuseDenied(command, settings.deny);
    refuseOutsidePaths(command, workspace);
    const args = sandboxArguments(command, {
      workspace,
      actor: context.actor,
      network: settings.network,
      environment: sandboxEnvironment(workspace),
    });
    const result = await runSandboxed(bwrap, args, settings, context.signal);
    // No command text: it may carry health details; the audit log says who ran something, and when.
    appendAudit(context.archive.db, context.actor, {
      action: "exec.run",
      note: result.timedOut ? "timed out" : `exit ${result.code ?? result.signal}`,
    });
    return formatResult(result, settings);
  },
});

function execSettings(context: ToolContext): ExecSettings {
  return context.config?.tools.exec ?? configSchema.parse({}).tools.exec;
}

/** Throws naming the rule a command breaks: a built-in one or one of tools.exec.deny. */
export function refuseDenied(command: string, extra: readonly string[]): void {
  for (const { pattern, why } of BUILTIN_DENY) {
    if (pattern.test(command)) throw new ToolError(`refused: the command ${why}.`);
  }
  for (const source of extra) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(source);
    } catch {
      // A broken pattern must not silently let everything through.
      throw new ToolError(
        `refused: tools.exec.deny holds an invalid pattern ${JSON.stringify(source)}; fix the config.`,
      );
    }
    if (pattern.test(command))
      throw new ToolError(`refused: the command matches tools.exec.deny ${JSON.stringify(source)}.`);
  }
}

/**
 * Throws when the command names a path outside the workspace, where it can tell: an absolute path, ~user,
 * or a workspace path that is a symlink to somewhere else. Paths built at run time are not seen.
 */
export function refuseOutsidePaths(command: string, workspace: string): void {
  const words = command.split(/[\s'"=<>|;&()`]+/).filter(Boolean);
  for (const word of words) {
    // HOME is the workspace, so ~ and ~/x stay inside; ~user is someone else's home.
    if (word === "~" || word.startsWith("~/")) continue;
    if (word.startsWith("~")) throw new ToolError(`refused: ${word} is outside the workspace.`);
    if (word.startsWith("/")) {
      if (ALLOWED_OUTSIDE.test(word) || inside(path.resolve(word), workspace)) continue;
      throw new ToolError(
        `refused: ${word} is outside the workspace; commands work on workspace files only.`,
      );
    }
    const real = realPathIfExists(path.resolve(workspace, word));
    if (real !== undefined && !inside(real, workspace))
      throw new ToolError(`refused: ${word} leads outside the workspace (a symlink).`);
  }
}

function inside(target: string, workspace: string): boolean {
  return target === workspace || target.startsWith(workspace + path.sep);
}

function realPathIfExists(target: string): string | undefined {
  try {
    return fs.realpathSync(target);
  } catch {
    return undefined;
  }
}

/** The environment the shell sees: no API keys, tokens or MEDBOT_ variables, HOME is the workspace. */
export function sandboxEnvironment(
  workspace: string,
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    HOME: workspace,
    LANG: from.LANG ?? "C.UTF-8",
    ...(from.TZ ? { TZ: from.TZ } : {}),
  };
}

interface ShellResult {
  output: string;
  cut: boolean;
  timedOut: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
}

function runSandboxed(
  bwrap: string,
  args: string[],
  settings: ExecSettings,
  signal?: AbortSignal,
): Promise<ShellResult> {
  return new Promise((resolve) => {
    // An empty environment: bwrap is pid 1 in the sandbox, and its /proc/1/environ is readable there.
    // Killing bwrap kills the sandbox's pid namespace, so nothing the command started (setsid, nohup) outlives it.
    const child = spawn(bwrap, args, { env: {}, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    let cut = false;
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const collect = (chunk: Buffer) => {
      if (cut) return;
      output += chunk.toString("utf8");
      if (output.length > settings.maxOutputChars) {
        output = output.slice(0, settings.maxOutputChars);
        cut = true;
        killGroup();
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, settings.timeout * 1000);
    const abort = () => killGroup();
    signal?.addEventListener("abort", abort, { once: true });
    child.on("error", (error) => {
      output += `\n${error.message}`;
    });
    child.on("close", (code, exitSignal) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      // Whatever the shell left running in the background goes with it.
      killGroup();
      resolve({ output, cut, timedOut, code, signal: exitSignal });
    });
  });
}

function formatResult(result: ShellResult, settings: ExecSettings): string {
  const notes = [
    result.cut ? `(output cut at ${settings.maxOutputChars} characters; the command was stopped)` : "",
    result.timedOut ? `(stopped after ${settings.timeout} s: tools.exec.timeout)` : "",
    result.timedOut || result.cut ? "" : `exit code ${result.code ?? `signal ${result.signal}`}`,
  ].filter(Boolean);
  return [result.output.trimEnd() || "(no output)", ...notes].join("\n");
}
