// The archive's figures for `npm run bench`: record_metric latency, a 10-year export, view rendering, DB size.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostOwner } from "../src/access/actor.js";
import { FamilyArchive } from "../src/archive/archive.js";
import { exportMedicalRecord } from "../src/archive/export/index.js";
import { recordMetric } from "../src/archive/metrics.js";
import { ViewRenderer } from "../src/archive/render.js";
import { openDatabase } from "../src/storage/db.js";

const YEARS = 10;
const READINGS = 20_000;
const SYMPTOMS = 2_000;
const MEDICATIONS = 50;
const DAY_MS = 86_400_000;

type Report = (what: string, value: string) => void;

/** Seeds one member with ten years of data and measures what a family would feel. */
export async function benchArchive(report: Report, summary: (times: number[]) => string): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bench-archive-"));
  const database = path.join(workspace, "medbot.db");
  const now = new Date("2026-11-22T12:00:00Z");
  const db = openDatabase(database);
  const archive = new FamilyArchive(db, { clock: () => now });
  const owner = hostOwner("bench");
  archive.addMember(owner, {
    displayName: "Grandpa",
    id: "grandpa",
    timezone: "Europe/Berlin",
    birthDate: "1948-04-02",
  });

  const start = now.getTime() - YEARS * 365 * DAY_MS;
  const seeded = performance.now();
  db.transaction(() => {
    for (let i = 0; i < READINGS; i++) {
      const at = new Date(start + (i / READINGS) * YEARS * 365 * DAY_MS).toISOString();
      const kind = i % 4;
      const input =
        kind === 0
          ? { kind: "bp", value: `${125 + (i % 30)}/${78 + (i % 15)}/${60 + (i % 20)}` }
          : kind === 1
            ? { kind: "glucose", value: 5 + (i % 30) / 10, unit: "mmol/L" }
            : kind === 2
              ? { kind: "weight", value: 78 + (i % 50) / 10, unit: "kg" }
              : { kind: "heart_rate", value: 60 + (i % 30) };
      recordMetric(archive, owner, "grandpa", { ...input, at });
    }
    for (let i = 0; i < SYMPTOMS; i++) {
      const onset = new Date(start + (i / SYMPTOMS) * YEARS * 365 * DAY_MS).toISOString().slice(0, 10);
      const name = ["headache", "dizziness", "cough", "knee pain", "fatigue"][i % 5]!;
      archive.add(
        owner,
        "grandpa",
        "symptoms",
        { name, onset, ended: null, severity: "mild", notes: null },
        "reported",
      );
    }
    for (let i = 0; i < MEDICATIONS; i++) {
      const startDate = new Date(start + i * 70 * DAY_MS).toISOString().slice(0, 10);
      const active = i >= MEDICATIONS - 6;
      archive.add(
        owner,
        "grandpa",
        "medications",
        {
          name: `medication-${i}`,
          dose: `${5 + i} mg`,
          route: "oral",
          frequency: "daily",
          timesOfDay: ["08:00"],
          timezone: null,
          startDate,
          stopDate: active ? null : new Date(start + (i * 70 + 60) * DAY_MS).toISOString().slice(0, 10),
          reason: "bench",
          state: active ? "active" : "stopped",
        },
        "reported",
      );
    }
  })();
  report(
    `seeding ${READINGS} readings, ${SYMPTOMS} symptoms, ${MEDICATIONS} medications`,
    `${Math.round(performance.now() - seeded)} ms (one transaction)`,
  );

  // Each reading its own transaction with its audit entry, as a chat message would store it.
  const times: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = performance.now();
    recordMetric(archive, owner, "grandpa", {
      kind: "bp",
      value: "132/84",
      at: new Date(now.getTime() - i * 60_000).toISOString(),
    });
    times.push(performance.now() - t);
  }
  report("record_metric (1000 calls, file DB, fsync)", summary(times));

  const renderer = new ViewRenderer(workspace, archive, (message) => console.error(message));
  const rendered = performance.now();
  renderer.rebuildAll();
  report(
    "render record.md + symptoms.md + medications.md",
    `${Math.round(performance.now() - rendered)} ms (off the write path)`,
  );

  for (const format of ["md", "pdf"] as const) {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await exportMedicalRecord(archive, owner, "grandpa", { workspace, format });
      runs.push(performance.now() - t);
    }
    report(
      `doctor export, ${format}, 10 years of data (3 runs)`,
      runs.map((ms) => `${Math.round(ms)} ms`).join(", "),
    );
  }

  db.pragma("wal_checkpoint(TRUNCATE)");
  report("database size", `${(fs.statSync(database).size / 1024 / 1024).toFixed(1)} MiB`);
  db.close();
  fs.rmSync(workspace, { recursive: true, force: true });
}
