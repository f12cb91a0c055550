// The report reader's figures for `npm run bench`: a 100-page and a 100,000-page PDF through ingest, with
// the longest the event loop waited meanwhile (the reader runs in a worker, so it should stay near zero).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { hostOwner } from "../src/access/actor.js";
import { FamilyArchive } from "../src/archive/archive.js";
import { ingestReport } from "../src/archive/reports.js";
import { openDatabase } from "../src/storage/db.js";
import { manyPagePdf } from "../test/support/many-page-pdf.js";

type Report = (what: string, value: string) => void;

/** Ingests each PDF as a member's report and reports its time, outcome and the event loop's longest delay. */
export async function benchReports(report: Report): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-reports-"));
  const db = openDatabase(path.join(workspace, "medbot.db"));
  const archive = new FamilyArchive(db);
  const owner = hostOwner("bench");
  archive.addMember(owner, { displayName: "Grandpa", id: "grandpa", timezone: "UTC" });
  // What the loop waits with nothing to do: the floor set by this machine's load.
  const idle = monitorEventLoopDelay({ resolution: 10 });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  idle.disable();
  report("event loop max delay, idle for 2 s", `${(idle.max / 1e6).toFixed(1)} ms`);
  for (const pages of [100, 100_000]) {
    const file = path.join(workspace, `${pages}-pages.pdf`);
    fs.writeFileSync(file, manyPagePdf(pages));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const outcome = await ingestReport(archive, owner, "grandpa", { file }, workspace).then(
      (result) => `stored, ${result.report.keyValues.length} key value(s)`,
      (error: Error) => `refused ("${error.message.replace(/^The PDF "[^"]+" /, "")}")`,
    );
    const elapsed = performance.now() - started;
    delay.disable();
    const size = `${Math.round(fs.statSync(file).size / 1024)} KB`;
    report(
      `report ingest, ${pages.toLocaleString("en-US")}-page PDF (${size})`,
      `${Math.round(elapsed)} ms, ${outcome}; event loop max delay ${(delay.max / 1e6).toFixed(1)} ms`,
    );
  }
  db.close();
  fs.rmSync(workspace, { recursive: true, force: true });
}
