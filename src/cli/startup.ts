// What every command does first: refuse root, load the config, refuse folders that are not medbot's own,
// tighten loose permissions on what is.

import { type LoadedConfig, loadConfig } from "../config/load.js";
import { assertOwnFolders } from "../config/own-folders.js";
import { checkRoot } from "../security/root.js";
import { formatMode, tightenModes } from "../storage/private-fs.js";

export interface GlobalOptions {
  config?: string;
  allowRoot?: boolean;
}

/** A failure the CLI reports in one message and an exit code, without a stack trace. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Refuses to run as root unless explicitly allowed (then warns). */
export function guardRoot(options: GlobalOptions): void {
  const verdict = checkRoot(process.getuid?.(), options.allowRoot === true);
  if (!verdict.ok) throw new CliFailure(verdict.reason, 1);
  if (verdict.warning) process.stderr.write(`${verdict.warning}\n`);
}

/**
 * Loads the instance's config, refuses a data folder or workspace that is not medbot's own (exit 2, nothing
 * changed), and tightens modes looser than 0700/0600, telling the user what changed.
 */
export function openInstance(options: GlobalOptions): LoadedConfig {
  const loaded = loadConfig({ configPath: options.config });
  const { paths } = loaded;
  assertOwnFolders(paths);
  const changed = tightenModes([
    paths.home,
    paths.configFile,
    paths.workspace,
    paths.database,
    `${paths.database}-wal`,
    `${paths.database}-shm`,
    paths.memoryFile,
  ]);
  for (const change of changed) {
    process.stderr.write(
      `medbot: ${change.path} was ${formatMode(change.was)}; tightened to ${formatMode(change.now)} (health data stays private to you)\n`,
    );
  }
  return loaded;
}
