// `medbot export MEMBER` and `medbot family rebuild-views`, run as the real CLI in a child process.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { GENERATED_MARK } from "../../src/archive/render.js";
import { openDatabase } from "../../src/storage/db.js";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

let home: string;
let family: string;

beforeAll(() => {
  home = tempHome("medbot-export-cli-");
  const db = openDatabase(path.join(home, "workspace", "medbot.db"));
  const archive = new FamilyArchive(db);
  const owner = hostOwner();
  archive.addMember(owner, { displayName: "爸爸", aliases: ["Dad"] });
  archive.addMember(owner, { displayName: "Mum" });
  archive.add(
    owner,
    "dad",
    "medications",
    {
      name: "Metformin",
      dose: "500 mg",
      route: "oral",
      frequency: "twice daily",
      timesOfDay: ["08:00"],
      timezone: null,
      startDate: "2024-01-01",
      stopDate: null,
      reason: null,
      state: "active",
    },
    "confirmed",
  );
  db.close();
  family = path.join(home, "workspace", "family");
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe("medbot export", () => {
  it("writes the Markdown and PDF exports into the member's folder and prints their paths", async () => {
    const result = await runMedbot(["export", "Dad"], { home });
    expect(result.stderr).not.toMatch(/medbot:|error/i);
    expect(result.code).toBe(0);
    const printed = result.stdout.trim().split("\n");
    expect(printed.map((p) => path.relative(path.join(family, "爸爸"), p))).toEqual([
      expect.stringMatching(/^doctor_export_\d{8}\.md$/),
      expect.stringMatching(/^doctor_export_\d{8}\.pdf$/),
    ]);
    expect(fs.readFileSync(printed[0]!, "utf8")).toContain("| **Metformin** | 500 mg |");
    expect(fs.readFileSync(printed[1]!).subarray(0, 5).toString()).toBe("%PDF-");
    for (const file of printed) expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // The command rendered the views before it exited.
    expect(fs.readFileSync(path.join(family, "爸爸", "record.md"), "utf8")).toContain(GENERATED_MARK);
  });

  it("writes one format to -o, and refuses to overwrite it", async () => {
    const output = path.join(home, "dad-for-clinic.md");
    const first = await runMedbot(["export", "dad", "--format", "md", "-o", output], { home });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`${output}\n`);
    const written = fs.readFileSync(output, "utf8");
    expect(written).toContain("# Medical summary: 爸爸");
    expect(fs.statSync(output).mode & 0o777).toBe(0o600);

    const again = await runMedbot(["export", "dad", "-o", output], { home });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; choose another file name/);
    expect(fs.readFileSync(output, "utf8")).toBe(written);
  });

  it("names the members when the one asked for does not exist, and writes nothing", async () => {
    const before = fs.existsSync(path.join(family, "Mum")) ? fs.readdirSync(path.join(family, "Mum")) : [];
    const result = await runMedbot(["export", "grandma"], { home });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /No family member called "grandma"\. Members: 爸爸 \(id 爸爸\), Mum \(id mum\)/,
    );
    expect(result.stdout).toBe("");
    const after = fs.existsSync(path.join(family, "Mum")) ? fs.readdirSync(path.join(family, "Mum")) : [];
    expect(after.filter((f) => f.startsWith("doctor_export"))).toEqual(
      before.filter((f) => f.startsWith("doctor_export")),
    );
  });

  it("refuses an unknown format or a bad symptom window", async () => {
    const format = await runMedbot(["export", "dad", "--format", "docx"], { home });
    expect(format.code).not.toBe(0);
    expect(format.stderr).toMatch(/docx.*md, pdf, both|Allowed choices are md, pdf, both/);
    const days = await runMedbot(["export", "dad", "--days", "soon"], { home });
    expect(days.code).toBe(1);
    expect(days.stderr).toMatch(/--days must be a whole number/);
  });
});

describe("medbot family rebuild-views", () => {
  it("re-renders every member's views and says how many", async () => {
    fs.rmSync(path.join(family, "爸爸", "medications.md"), { force: true });
    const result = await runMedbot(["family", "rebuild-views"], { home });
    expect(result.stderr).not.toMatch(/medbot:|error/i);
    expect(result.stdout).toBe("Rebuilt the views of 2 members.\n");
    expect(fs.readFileSync(path.join(family, "爸爸", "medications.md"), "utf8")).toContain("### Metformin");
    expect(fs.readFileSync(path.join(family, "mum", "record.md"), "utf8")).toContain("# Mum — health record");
  });
});
