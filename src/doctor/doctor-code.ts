// Doctor's code check: the JavaScript medbot runs (bin/ and the build in dist/) is writable by its
// user only. Code another account can change runs with every health record and key medbot holds.
import * as path from "node:path";
import { PACKAGE_ROOT } from "../package-root.js";
import { formatMode } from "../storage/private-fs.js";
import type { Finding } from "./doctor.js";
import { type WalkedEntry, walkEntries } from "./doctor-walk.js";

/** Paths listed in the finding before "and N more". */
const SHOWN_PATHS = 5;
/** Group and other write bits. */
const WRITABLE_BY_OTHERS = 0o022;

/** perms.code: a folder or file of bin/ or dist/ that another user owns or that group or others can write. */
export function checkCodeModes(uid: number | undefined, root = PACKAGE_ROOT): Finding[] {
  const exposed = codeEntries(root).filter(
    (entry) =>
      (entry.mode & WRITABLE_BY_OTHERS) !== 0 || (uid !== undefined && entry.uid !== uid && entry.uid !== 0),
  );
  if (exposed.length === 0) return [];
  const shown = exposed
    .slice(0, SHOWN_PATHS)
    .map((entry) => `${entry.path} (${formatMode(entry.mode)}, uid ${entry.uid})`)
    .join(", ");
  const more = exposed.length > SHOWN_PATHS ? ` and ${exposed.length - SHOWN_PATHS} more` : "";
  return [
    {
      id: "perms.code",
      severity: "high",
      what: `${exposed.length} ${exposed.length === 1 ? "path" : "paths"} of the code medbot runs can be changed by another user: ${shown}${more}.`,
      why: "Code another account can write runs inside medbot, with the family's health records, the channel tokens and the model key.",
      fix: `Rebuild ${path.join(root, "dist")} as the user running medbot (\`npm run build\` there writes it 0755/0644) or reinstall the package, and run chmod -R go-w ${path.join(root, "bin")}; files must belong to the user running medbot (or root).`,
      fixable: false,
      paths: exposed.map((entry) => entry.path),
    },
  ];
}

/** bin/, dist/ and everything under them; links are not followed. */
function codeEntries(root: string): WalkedEntry[] {
  return walkEntries([path.join(root, "bin"), path.join(root, "dist")]);
}
