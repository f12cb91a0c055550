// The audit log's figures for `npm run bench`: what one audited write costs on the gateway's hot path (a reply
// marked sent in one transaction with its `reply.send` entry), with the head file moving behind it, and what
// it would cost if every write moved the head itself (why the head moves at most once per delay).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostOwner } from "../src/access/actor.js";
import { AUDIT_ANCHOR_DELAY_MS, anchorAuditHead } from "../src/audit/audit-head.js";
import { appendAudit } from "../src/audit/audit-log.js";
import { openDatabase } from "../src/storage/db.js";

type Report = (what: string, value: string) => void;

const REPLIES = 500;

/** Times REPLIES one-entry transactions against a real database file, as the outbox does per reply. */
export async function benchAudit(report: Report, summary: (times: number[]) => string): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-audit-"));
  const shipped = await timeWrites(path.join(home, "shipped.db"), false);
  report(`audited write (reply.send), head every ${AUDIT_ANCHOR_DELAY_MS} ms (${REPLIES})`, summary(shipped));
  const eager = await timeWrites(path.join(home, "eager.db"), true);
  report(`audited write, head file written after each (${REPLIES})`, summary(eager));
  fs.rmSync(home, { recursive: true, force: true });
}

async function timeWrites(file: string, headEachTime: boolean): Promise<number[]> {
  const db = openDatabase(file);
  const actor = hostOwner("bench");
  const append = db.transaction((i: number) => {
    appendAudit(db, actor, { action: "reply.send", note: `outbox:${i}` });
  });
  const times: number[] = [];
  for (let i = 0; i < REPLIES; i++) {
    const start = performance.now();
    append(i);
    if (headEachTime) anchorAuditHead(db);
    // Yield between replies as the gateway does, so the head file's timer fires during the run.
    await new Promise((resolve) => setImmediate(resolve));
    times.push(performance.now() - start);
  }
  db.close();
  return times;
}
