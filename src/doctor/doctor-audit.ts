// Doctor's audit check: the same verification as `medbot audit --verify` (chain, head file and, with
// audit.signHead, its signature; append-only triggers), so a deployment whose history was edited, cut or
// rewritten is flagged on every doctor run.
import * as fs from "node:fs";
import Database from "better-sqlite3";
import { verifyAudit } from "../audit/audit-log.js";
import type { MedbotPaths } from "../config/paths.js";
import type { Finding } from "./doctor.js";

/** audit.broken: the audit log fails verification; opened read-only, so doctor changes nothing. */
export function checkAuditLog(paths: MedbotPaths): Finding[] {
  if (!fs.existsSync(paths.database)) return [];
  let db: Database.Database;
  try {
    db = new Database(paths.database, { readonly: true, fileMustExist: true });
  } catch (error) {
    return [unreadable(paths, (error as Error).message)];
  }
  try {
    const verdict = verifyAudit(db, { signingKey: paths.auditSigningKey });
    if (verdict.ok) return [];
    return [
      {
        id: "audit.broken",
        severity: "high",
        what: `The audit log in ${paths.database} fails verification: ${verdict.problems.join("; ")}.`,
        why: "The audit log is how the household sees who changed or sent what; history that was edited, cut or rewritten can no longer be trusted.",
        fix: "Find out who had access to the data folder (medbot audit --verify names what changed), restore medbot.db and its head file (with audit.signHead, also audit-signing.key) from a backup if you have one, and keep the folder private.",
        fixable: false,
        paths: [paths.database],
      },
    ];
  } catch (error) {
    return [unreadable(paths, (error as Error).message)];
  } finally {
    db.close();
  }
}

function unreadable(paths: MedbotPaths, reason: string): Finding {
  return {
    id: "audit.unreadable",
    severity: "medium",
    what: `The audit log in ${paths.database} could not be read for checking: ${reason}.`,
    why: "Doctor could not tell whether the audit history is intact.",
    fix: "Run medbot audit --verify once the database opens (medbot status names what is wrong with it).",
    fixable: false,
    paths: [paths.database],
  };
}
