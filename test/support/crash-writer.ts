// A medbot process that writes to the family archive until it is killed (test/archive/crash.test.ts).
// It opens the archive the way the agent does (createAgent: each commit schedules a view render) and, on
// stdout, one line per event, written before the next one starts (stdout to a pipe is synchronous):
//   ready <pid>                    set up, about to write
//   change <auditSeq> <table> <id> a change whose transaction has committed
//   render-start / render-end <ms> the renderer writing stale views
// Usage: node --import tsx crash-writer.ts DATA_FOLDER steady|burst
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { hostOwner } from "../../src/access/actor.js";
import { createAgent } from "../../src/agent/setup.js";
import type { FamilyArchive } from "../../src/archive/archive.js";
import type { MedicationFields } from "../../src/archive/entries.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { ViewRenderer } from "../../src/archive/render.js";
import { loadConfig } from "../../src/config/load.js";

type Mode = "steady" | "burst";

const [home, modeArg] = process.argv.slice(2);
if (!home || (modeArg !== "steady" && modeArg !== "burst")) {
  process.stderr.write("usage: crash-writer.ts DATA_FOLDER steady|burst\n");
  process.exit(2);
}
const mode: Mode = modeArg;
/** A writer the test forgot to kill stops on its own. */
const GIVE_UP_AFTER_MS = 30_000;
/** Symptom events seeded for 爸爸 in burst mode, so rendering his views takes a few milliseconds. */
const SEED_SYMPTOMS = 3000;

const owner = hostOwner("crash-test");
const say = (line: string) => process.stdout.write(`${line}\n`);

// Trace the renderer's work so the test can kill the process while view files are being written.
const renderStale = ViewRenderer.prototype.renderStale;
ViewRenderer.prototype.renderStale = function traced(this: ViewRenderer): string[] {
  const started = performance.now();
  say("render-start");
  const rendered = renderStale.call(this);
  say(`render-end ${(performance.now() - started).toFixed(2)}`);
  return rendered;
};

const loaded = loadConfig({ configPath: `${home}/config.json` });
const agent = createAgent(loaded, { warn: (message) => process.stderr.write(`warn: ${message}\n`) });
const archive = agent.archive;

const medication = (dose: string): MedicationFields => ({
  name: "Metformin",
  dose,
  route: "oral",
  frequency: "twice daily",
  timesOfDay: ["08:00", "20:00"],
  timezone: null,
  startDate: "2024-01-01",
  stopDate: null,
  reason: "type 2 diabetes",
  state: "active",
});

/** YYYY-MM-DD `days` before today, so the newest symptoms show in record.md's recent list. */
function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

function setUp(): void {
  if (archive.members(owner).length === 0) {
    archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"], relationship: "father" });
    archive.addMember(owner, { displayName: "妈妈", aliases: ["Mum"], relationship: "mother" });
  }
  if (mode === "burst" && archive.current(owner, "dad", "symptoms").length < SEED_SYMPTOMS) seed(archive);
}

/** A long record for 爸爸, in one transaction (each change inside it is still audited). */
function seed(target: FamilyArchive): void {
  target.db.transaction(() => {
    for (let i = 0; i < SEED_SYMPTOMS; i++) {
      target.add(
        owner,
        "dad",
        "symptoms",
        { name: `headache ${i}`, onset: daysAgo(i), ended: null, severity: "mild", notes: "after work" },
        "reported",
      );
    }
    for (let i = 0; i < 40; i++) target.add(owner, "dad", "medications", medication(`${i} mg`), "reported");
  })();
}

/** The member's Metformin entry to revise (added if they have none yet). */
function currentMedication(ref: string): number {
  const active = archive.current(owner, ref, "medications").find((m) => m.name === "Metformin");
  return active?.id ?? archive.add(owner, ref, "medications", medication("500 mg"), "reported").entry.id;
}

const medicationId = new Map<string, number>();

/** One change (a symptom, a reading or a new dose), alternating between members; returns its line. */
function writeOne(step: number): string {
  const ref = Math.floor(step / 3) % 2 === 0 ? "dad" : "mum";
  switch (step % 3) {
    case 0: {
      const symptom = { name: "cough", onset: daysAgo(step % 5), ended: null, severity: null, notes: null };
      const { entry } = archive.add(owner, ref, "symptoms", symptom, "reported");
      return `change ${entry.auditSeq} symptoms ${entry.id}`;
    }
    case 1: {
      const kinds = [
        { kind: "bp", value: `${120 + (step % 20)}/80` },
        { kind: "glucose", value: "6.1", unit: "mmol/L" },
        { kind: "weight", value: `${70 + (step % 7)} kg` },
      ];
      const { reading } = recordMetric(archive, owner, ref, kinds[step % kinds.length]!);
      const row = archive.db.prepare("SELECT audit_seq AS seq FROM metrics WHERE id = ?").get(reading.id) as {
        seq: number;
      };
      return `change ${row.seq} metrics ${reading.id}`;
    }
    default: {
      const id = medicationId.get(ref) ?? currentMedication(ref);
      const dose = { dose: `${500 + (step % 4) * 250} mg` };
      const { entry } = archive.revise(owner, ref, "medications", id, dose, { kind: "update" });
      medicationId.set(ref, entry.id);
      return `change ${entry.auditSeq} medications ${entry.id}`;
    }
  }
}

setUp();
say(`ready ${process.pid}`);
const deadline = Date.now() + GIVE_UP_AFTER_MS;
let step = 0;
while (Date.now() < deadline) {
  if (mode === "steady") {
    say(writeOne(step++));
    await nextTurn(); // lets the renderer's timer fire between changes, as between an agent's tool calls
  } else {
    // A turn's burst of changes, then a pause in which the scheduled render runs.
    const burst = 5 + (step % 11);
    for (let i = 0; i < burst; i++) say(writeOne(step++));
    await sleep(60);
  }
}
agent.close();
