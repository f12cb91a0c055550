// Where an instance keeps its files: ~/.medbot by default, MEDBOT_HOME, or the folder of --config.
import * as os from "node:os";
import * as path from "node:path";
import { AUDIT_SIGNING_KEY_FILE } from "../audit/audit-signature.js";

export interface MedbotPaths {
  /** The data folder (0700): config, workspace, logs. */
  home: string;
  configFile: string;
  workspace: string;
  database: string;
  memoryFile: string;
  logs: string;
  /** The audit head's signing key in the data folder (never the workspace); set only when audit.signHead is on. */
  auditSigningKey?: string;
}

export interface PathOptions {
  /** --config PATH: the data folder becomes the config file's folder. */
  configPath?: string;
  /** agents.defaults.workspace from the config, if set. */
  workspace?: string;
  /** audit.signHead from the config. */
  signAuditHead?: boolean;
}

/** Resolves every path of one medbot instance. */
export function resolvePaths(options: PathOptions = {}, env: NodeJS.ProcessEnv = process.env): MedbotPaths {
  const configFile = options.configPath
    ? path.resolve(expandHome(options.configPath))
    : path.join(homeFromEnv(env), "config.json");
  const home = path.dirname(configFile);
  const workspace = options.workspace
    ? path.resolve(home, expandHome(options.workspace))
    : path.join(home, "workspace");
  return {
    home,
    configFile,
    workspace,
    database: path.join(workspace, "medbot.db"),
    memoryFile: path.join(workspace, "memory", "MEMORY.md"),
    logs: path.join(home, "logs"),
    ...(options.signAuditHead ? { auditSigningKey: path.join(home, AUDIT_SIGNING_KEY_FILE) } : {}),
  };
}

function homeFromEnv(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.MEDBOT_HOME?.trim();
  return fromEnv ? path.resolve(expandHome(fromEnv)) : path.join(os.homedir(), ".medbot");
}

/** Expands a leading `~` to the user's home folder. */
export function expandHome(p: string): string {
  if (p === "~") return os.homedir();
  if (p.startsWith("~/")) return path.join(os.homedir(), p.slice(2));
  return p;
}
