// Which fonts the doctor PDF uses (issue 15): text the standard PDF fonts can show is set in the built-in
// Helvetica, with no font file parsed or embedded (what made the first export of a process slow); other
// characters still read back, set in DejaVu Sans (and CJK in a CJK font, test/archive/export.test.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostOwner } from "../../src/access/actor.js";
import { FamilyArchive } from "../../src/archive/archive.js";
import { exportMedicalRecord } from "../../src/archive/export/index.js";
import { textRuns } from "../../src/archive/export/pdf.js";
import { type Db, openDatabase } from "../../src/storage/db.js";

const owner = hostOwner();
const dejaVu = fs.existsSync("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
let root: string;
let workspace: string;
let db: Db;
let archive: FamilyArchive;

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "medbot-pdf-fonts-")));
  workspace = path.join(root, "workspace");
  db = openDatabase(path.join(workspace, "medbot.db"));
  archive = new FamilyArchive(db, { clock: () => new Date("2026-03-14T10:00:00Z") });
  archive.addMember(owner, { displayName: "José Müller", id: "jose", timezone: "UTC" });
});
afterEach(() => {
  db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Records one active medication called `name` and exports the PDF; its bytes and its text. */
async function exportWithMedication(name: string): Promise<{ bytes: string; text: string }> {
  const medication = { name, dose: "5 µg – twice", route: null, frequency: null, timesOfDay: [] };
  archive.add(
    owner,
    "jose",
    "medications",
    { ...medication, timezone: null, startDate: null, stopDate: null, reason: null, state: "active" },
    "confirmed",
  );
  const { files } = await exportMedicalRecord(archive, owner, "jose", { workspace, format: "pdf" });
  const data = fs.readFileSync(files[0]!);
  const { extractText } = await import("unpdf");
  const { text } = await extractText(new Uint8Array(data), { mergePages: true });
  // The micro sign's glyph is called "mu"; the reader gives it back as the Greek letter.
  return { bytes: data.toString("latin1"), text: text.replaceAll("\u03bc", "\u00b5") };
}

describe("the doctor PDF's fonts", () => {
  it("sets Latin-1 text in the standard Helvetica and embeds no font file", async () => {
    const { bytes, text } = await exportWithMedication("Metformin");
    expect(text).toContain("Medical summary: José Müller");
    expect(text).toContain("5 µg – twice");
    expect(bytes).toContain("/BaseFont /Helvetica");
    expect(bytes).not.toContain("/FontFile2");
  });

  it.runIf(dejaVu)("sets characters Helvetica lacks (Greek, Cyrillic) in DejaVu Sans, readable", async () => {
    const { bytes, text } = await exportWithMedication("β-blocker Аспирин");
    expect(text).toContain("β-blocker Аспирин");
    expect(text).toContain("Medical summary: José Müller");
    expect(bytes).toContain("/FontFile2");
  });

  it("splits text into runs by the font each character needs", () => {
    expect(textRuns("**José** β 爸爸").map(({ text, script }) => [text, script])).toEqual([
      ["José", "winansi"],
      [" ", "winansi"],
      ["β", "unicode"],
      [" ", "winansi"],
      ["爸爸", "cjk"],
    ]);
  });
});
