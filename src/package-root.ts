// medbot's own folder (skills, workspace templates, config schema, bridge), found from this module's place,
// so paths are right whether medbot runs from src/ (tsx, tests) or from compiled JavaScript in dist/.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const isRoot = fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "skills"));
    if (isRoot) return dir;
    if (path.dirname(dir) === dir) throw new Error(`medbot's package folder was not found above ${start}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A path inside medbot's own folder. */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
