// The one tree walk doctor's file and code checks share: every folder and file under some roots, with mode
// and owner, symlinks neither followed nor listed, unreadable folders judged by their own entry.
import * as fs from "node:fs";
import * as path from "node:path";

/** One folder or file found by `walkEntries`: its path, permission bits and owner. */
export interface WalkedEntry {
  path: string;
  mode: number;
  uid: number;
}

/** Every folder and file under `roots` (the roots too, missing ones skipped), in path order; `skip` prunes. */
export function walkEntries(
  roots: readonly string[],
  skip: (file: string) => boolean = () => false,
): WalkedEntry[] {
  const entries: WalkedEntry[] = [];
  for (const root of roots) {
    const pending = [root];
    while (pending.length > 0) {
      const current = pending.pop()!;
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(current);
      } catch {
        continue;
      }
      if (stat.isSymbolicLink() || skip(current)) continue;
      entries.push({ path: current, mode: stat.mode & 0o777, uid: stat.uid });
      if (!stat.isDirectory()) continue;
      try {
        for (const name of fs.readdirSync(current).sort().reverse()) pending.push(path.join(current, name));
      } catch {
        // An unreadable folder is judged by its own mode and owner.
      }
    }
  }
  return entries;
}
