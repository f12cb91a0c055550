// Which modules a real `medbot` process loads: runs the CLI with test/support/module-recorder.mjs preloaded
// and returns the files it loaded (node: built-ins left out), for the start-up test and bench.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type RunOptions, type RunResult, runMedbot } from "./medbot-cli.js";

const RECORDER = fileURLToPath(new URL("./module-recorder.mjs", import.meta.url));

export interface LoadedModules extends RunResult {
  /** The file URLs of every module loaded, sorted, each once. */
  modules: string[];
}

/** Runs `medbot ...args` and lists the modules it loaded. */
export async function modulesLoadedBy(args: string[], options: RunOptions = {}): Promise<LoadedModules> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-modules-"));
  const log = path.join(folder, "modules.log");
  try {
    const result = await runMedbot(args, {
      ...options,
      env: { ...options.env, NODE_OPTIONS: `--import=${JSON.stringify(RECORDER)}`, MEDBOT_MODULE_LOG: log },
    });
    const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n") : [];
    const modules = [...new Set(lines.filter((line) => line && !line.startsWith("node:")))].sort();
    return { ...result, modules };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** The npm packages among `modules` (their names as imported, e.g. `zod`, `@scope/name`). */
export function packagesAmong(modules: readonly string[]): string[] {
  const names = modules.flatMap((url) => {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return match ? [match[1]!] : [];
  });
  return [...new Set(names)].sort();
}
