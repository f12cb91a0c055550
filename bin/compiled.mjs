// Finds medbot's built JavaScript in dist/ (made once by `npm run build`, which `npm install` in a clone and
// `npm pack` run) for bin/medbot.mjs and bin/whatsapp-bridge.mjs. Nothing is compiled at start and no
// TypeScript loader is used: a missing dist/ is a clear error. Code medbot runs is writable by its owner
// only: a dist/ with a link, a folder or file that another user (other than root, who owns a global
// install) owns, or that group or others can write, is refused rather than run.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = path.join(ROOT, "dist");
/** Group and other write bits: code with either could be changed by someone else before it runs. */
const WRITABLE_BY_OTHERS = 0o022;

/** The file URL of `entry` (a source path such as src/cli/main.ts) in dist/; exits with a message if unusable. */
export function builtEntry(entry) {
  const file = path.join(DIST, entry.replace(/\.ts$/, ".js"));
  if (!fs.existsSync(file)) {
    fail(
      `${file} is missing: medbot has not been built. Run \`npm run build\` in ${ROOT} ` +
        "(`npm install` there runs it too).",
    );
  }
  const problem = untrustedEntry(DIST);
  if (problem) {
    fail(
      `refusing to run ${DIST}: ${problem}. Code medbot runs must be writable by its owner only; ` +
        `rebuild it as the user who runs medbot (\`npm run build\` in ${ROOT}) or reinstall the package.`,
    );
  }
  return pathToFileURL(file).href;
}

function fail(message) {
  process.stderr.write(`medbot: ${message}\n`);
  process.exit(1);
}

/** Our own code, or root's (a global install, a system service). */
function trustedOwner(uid) {
  return uid === process.getuid?.() || uid === 0;
}

/** Why some folder or file under `top` could be changed by someone else, or undefined if none can. */
function untrustedEntry(top) {
  const pending = [top];
  while (pending.length > 0) {
    const current = pending.pop();
    const stat = fs.lstatSync(current);
    if (stat.isSymbolicLink()) return `${current} is a symbolic link`;
    if (!trustedOwner(stat.uid)) return `${current} belongs to uid ${stat.uid}`;
    if ((stat.mode & WRITABLE_BY_OTHERS) !== 0) return `${current} is writable by group or others`;
    if (stat.isDirectory())
      for (const name of fs.readdirSync(current)) pending.push(path.join(current, name));
  }
  return undefined;
}
