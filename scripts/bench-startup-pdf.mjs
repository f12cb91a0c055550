// A fresh process for `npm run bench`'s PDF export figures (scripts/bench-startup.ts): seeds one member (a
// year of readings, symptoms and medications) from the built dist/, then times its first doctor export as a
// PDF and a few later ones, and prints them as JSON. Usage: node bench-startup-pdf.mjs DIST_SRC NAME RUNS
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

const [distSrc, name = "Grandpa Joe", runs = "5"] = process.argv.slice(2);
const load = (module) => import(pathToFileURL(path.join(distSrc, module)).href);
const { openDatabase } = await load("storage/db.js");
const { FamilyArchive } = await load("archive/archive.js");
const { recordMetric } = await load("archive/metrics.js");
const { hostOwner } = await load("access/actor.js");
const { exportMedicalRecord } = await load("archive/export/index.js");

const root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-pdf-"));
const workspace = path.join(root, "workspace");
const db = openDatabase(path.join(workspace, "medbot.db"));
const archive = new FamilyArchive(db);
const owner = hostOwner();
const { id } = archive.addMember(owner, { displayName: name, timezone: "UTC" });
const now = Date.now();
for (let day = 0; day < 365; day++) {
  const at = new Date(now - day * 86_400_000).toISOString();
  recordMetric(archive, owner, id, { kind: "bp", value: `${120 + (day % 20)}/${78 + (day % 9)}`, at });
  if (day % 7 === 0) recordMetric(archive, owner, id, { kind: "glucose", value: 5.5 + (day % 5) / 10, at });
}
for (let i = 0; i < 20; i++) {
  const onset = new Date(now - i * 3 * 86_400_000).toISOString().slice(0, 10);
  archive.add(
    owner,
    id,
    "symptoms",
    { name: `symptom ${i}`, onset, ended: null, severity: "mild", notes: null },
    "confirmed",
  );
}
for (let i = 0; i < 10; i++) {
  const medication = { name: `Medication ${i}`, dose: "10 mg", route: "oral", frequency: "daily" };
  archive.add(
    owner,
    id,
    "medications",
    {
      ...medication,
      timesOfDay: ["08:00"],
      timezone: null,
      startDate: "2025-01-01",
      stopDate: null,
      reason: null,
      state: "active",
    },
    "confirmed",
  );
}

const times = [];
for (let i = 0; i < Number(runs); i++) {
  const started = performance.now();
  await exportMedicalRecord(archive, owner, id, { workspace, format: "pdf" });
  times.push(performance.now() - started);
}
db.close();
fs.rmSync(root, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(times)}\n`);
