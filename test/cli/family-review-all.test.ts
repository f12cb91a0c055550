// `medbot family review --confirm-all [--kind K] [MEMBER]`: the owner confirms at once everything awaiting
// review (of one kind, of one member), each item audited as its own confirmation on channel cli, all in one
// transaction; reports are reviewed like every other entry. Bad input changes nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { ingestReport } from "../../src/archive/reports.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";
import { medicationFields } from "../support/records.js";

const owner = hostOwner("telegram");

/**
 * Dad and Mum added through the CLI, then what the family said in chat: Dad's penicillin allergy (fact:1),
 * hypertension (fact:2, unreviewed), a confirmed asthma (fact:3), aspirin (medication:1), a cough
 * (symptom:1), a blood pressure (metric:1) and a blood panel (report:1, unreviewed); Mum's peanut allergy
 * (fact:4) and a headache (symptom:2, unreviewed).
 */
async function household(): Promise<string> {
  const home = tempHome();
  for (const args of [
    ["Dad", "--id", "dad", "--timezone", "UTC"],
    ["Mum", "--id", "mum", "--timezone", "UTC"],
  ]) {
    expect((await runMedbot(["family", "add", ...args], { home })).code).toBe(0);
  }
  await withArchive(home, async (archive) => {
    const fact = (category: "drug_allergy" | "food_allergy" | "condition", text: string) => ({
      category,
      text,
      details: null,
      since: null,
    });
    const symptom = (name: string) => ({
      name,
      onset: "2026-11-30",
      ended: null,
      severity: null,
      notes: null,
    });
    archive.add(owner, "dad", "facts", fact("drug_allergy", "penicillin"), "reported");
    archive.add(owner, "dad", "facts", fact("condition", "hypertension"), "unreviewed");
    archive.add(owner, "dad", "facts", fact("condition", "asthma"), "confirmed");
    archive.add(
      owner,
      "dad",
      "medications",
      medicationFields({ name: "aspirin", dose: "75 mg" }),
      "reported",
    );
    archive.add(owner, "dad", "symptoms", symptom("cough"), "reported");
    recordMetric(archive, owner, "dad", { kind: "bp", value: "132/84", at: "2026-11-30T08:00" });
    const text = "Blood panel\nGlucose 6.1 mmol/L (3.9-6.1)\n";
    await ingestReport(archive, owner, "dad", { text, title: "Blood panel" }, path.join(home, "workspace"));
    archive.add(owner, "mum", "facts", fact("food_allergy", "peanuts"), "reported");
    archive.add(owner, "mum", "symptoms", symptom("headache"), "unreviewed");
  });
  return home;
}

async function withArchive<T>(home: string, work: (archive: FamilyArchive) => T | Promise<T>): Promise<T> {
  const db = openDatabase(path.join(home, "workspace", "medbot.db"));
  try {
    return await work(new FamilyArchive(db));
  } finally {
    db.close();
  }
}

/** Every item's ref with its status, as the database holds it. */
function statuses(home: string): Promise<Record<string, string>> {
  return withArchive(home, (a) => {
    const rows = [
      "facts:fact",
      "medications:medication",
      "symptoms:symptom",
      "metrics:metric",
      "reports:report",
    ]
      .map((pair) => pair.split(":") as [string, string])
      .flatMap(([table, noun]) =>
        (
          a.db.prepare(`SELECT id, status FROM ${table} ORDER BY id`).all() as {
            id: number;
            status: string;
          }[]
        ).map((r) => [`${noun}:${r.id}`, r.status] as const),
      );
    return Object.fromEntries(rows);
  });
}

const confirmActions = (home: string) =>
  withArchive(home, (a) =>
    a.db
      .prepare(
        "SELECT action, channel, entity_id AS id FROM audit_log WHERE action LIKE '%.confirm' ORDER BY seq",
      )
      .all(),
  );

async function review(home: string, ...args: string[]) {
  return runMedbot(["family", "review", ...args], { home });
}

describe("medbot family review lists reports too", () => {
  it("lists an unreviewed report beside the entries, confirms one by id and filters the list by --kind", async () => {
    const home = await household();
    const list = await review(home, "dad");
    expect(list.stdout).toMatch(/^ {2}report:1 +Dad: Blood panel \[unreviewed\]$/m);
    const pendingItems = list.stdout.match(/^ {2}\S+:\d+ /gm)?.length;
    const members = JSON.parse((await runMedbot(["family", "list", "--json"], { home })).stdout);
    expect(members.find((m: { id: string }) => m.id === "dad").counts.awaitingReview).toBe(pendingItems);
    const allergies = await review(home, "--kind", "allergy");
    expect([...allergies.stdout.matchAll(/^ {2}(\S+) +(\S+):/gm)].map((m) => `${m[1]} ${m[2]}`)).toEqual([
      "fact:1 Dad",
      "fact:4 Mum",
    ]);
    const confirmed = await review(home, "--confirm", "report:1");
    expect(confirmed.stdout).toBe("Confirmed report:1 in Dad's record.\n");
    expect((await statuses(home))["report:1"]).toBe("confirmed");
    expect(await confirmActions(home)).toEqual([{ action: "report.confirm", channel: "cli", id: "1" }]);
  });
});

describe("medbot family review --confirm-all", () => {
  it("confirms only one kind of one member, then one member, then everything; each item audited", async () => {
    const home = await household();
    const before = await statuses(home);

    const allergies = await review(home, "--confirm-all", "--kind", "allergy", "dad");
    expect(allergies.code).toBe(0);
    expect(allergies.stdout).toBe(
      "Confirmed 1 item(s):\n  fact:1           Dad: drug_allergy: penicillin [confirmed]\n",
    );
    expect(await statuses(home)).toEqual({ ...before, "fact:1": "confirmed" });

    const mum = await review(home, "--confirm-all", "Mum");
    expect(mum.stdout).toMatch(/^Confirmed 2 item\(s\):\n {2}fact:4 .*\n {2}symptom:2 .*\n$/);
    expect(await statuses(home)).toEqual({
      ...before,
      "fact:1": "confirmed",
      "fact:4": "confirmed",
      "symptom:2": "confirmed",
    });

    const rest = await review(home, "--confirm-all");
    expect(rest.stdout.split("\n")[0]).toBe("Confirmed 5 item(s):");
    expect(Object.values(await statuses(home)).every((s) => s === "confirmed")).toBe(true);
    expect(await confirmActions(home)).toEqual([
      { action: "fact.confirm", channel: "cli", id: "1" },
      { action: "fact.confirm", channel: "cli", id: "4" },
      { action: "symptom.confirm", channel: "cli", id: "2" },
      { action: "fact.confirm", channel: "cli", id: "2" },
      { action: "medication.confirm", channel: "cli", id: "1" },
      { action: "symptom.confirm", channel: "cli", id: "1" },
      { action: "metric.confirm", channel: "cli", id: "1" },
      { action: "report.confirm", channel: "cli", id: "1" },
    ]);

    expect((await review(home, "--confirm-all")).stdout).toBe("Nothing awaits review.\n");
    expect((await runMedbot(["family", "show", "dad"], { home })).stdout).toContain("Nothing awaits review.");
    const recordMd = fs.readFileSync(path.join(home, "workspace", "family", "dad", "record.md"), "utf8");
    expect(recordMd).not.toContain("Not yet reviewed");
    expect(recordMd).not.toMatch(/\((reported|unreviewed)/);
  }, 180_000);

  it("confirms by kind across members (metric, medication, condition, report)", async () => {
    const home = await household();
    for (const [kind, ref] of [
      ["metric", "metric:1"],
      ["medication", "medication:1"],
      ["condition", "fact:2"],
      ["report", "report:1"],
    ] as const) {
      const before = await statuses(home);
      const result = await review(home, "--confirm-all", "--kind", kind);
      expect(result.stdout, kind).toMatch(new RegExp(`^Confirmed 1 item\\(s\\):\\n {2}${ref} `));
      expect(await statuses(home)).toEqual({ ...before, [ref]: "confirmed" });
    }
    const nothing = await review(home, "--confirm-all", "--kind", "report", "dad");
    expect(nothing.stdout).toBe("Nothing of kind report awaits review for Dad.\n");
  }, 180_000);

  it("refuses bad combinations, an unknown kind and an unknown member, changing nothing", async () => {
    const home = await household();
    const before = await statuses(home);
    const audited = () => withArchive(home, (a) => a.db.prepare("SELECT COUNT(*) AS n FROM audit_log").get());
    const count = await audited();
    const cases: [string[], string][] = [
      [["--confirm-all", "--confirm", "fact:1"], "Give one of --confirm, --reject or --confirm-all."],
      [["--confirm-all", "--kind", "vaccine"], '--kind "vaccine" must be one of fact, allergy, condition'],
      [
        ["--confirm", "fact:1", "--kind", "fact"],
        "--kind goes with the list or --confirm-all, not with --confirm",
      ],
      [["--confirm-all", "grandpa"], 'No family member called "grandpa"'],
      [["--reject", "report:9"], "There is no report:9."],
    ];
    for (const [args, message] of cases) {
      const result = await review(home, ...args);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toContain(message);
    }
    expect(await statuses(home)).toEqual(before);
    expect(await audited()).toEqual(count);
  }, 180_000);
});
