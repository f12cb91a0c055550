// A MedBot (Python, nanobot-based) workspace on disk: family/<member_id>/ folders holding record.md,
// symptoms.md, medications.md, metrics/*.jsonl and reports/. Only reads; what it cannot read is reported
// with the file (relative to family/) and line.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type MedbotMember,
  type MedbotReport,
  normaliseDay,
  parseMedications,
  parseMetricLines,
  parseSymptoms,
  type SourceProblem,
} from "./medbot-format.js";
import { parseRecord, relationshipFromName } from "./medbot-record.js";
import { idFromName, invalidMemberId } from "./members.js";
import { GENERATED_MARK } from "./render.js";

const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** Finds the family/ folder of a MedBot workspace given the workspace or the family/ folder itself. */
export function findFamilyFolder(given: string): string {
  const resolved = path.resolve(given);
  if (!fs.existsSync(resolved)) throw new Error(`${given}: no such file or folder.`);
  if (!fs.statSync(resolved).isDirectory()) throw new Error(`${given} is not a folder.`);
  const nested = path.join(resolved, "family");
  if (fs.existsSync(nested) && fs.statSync(nested).isDirectory()) return nested;
  if (memberFolders(resolved).length > 0) return resolved;
  throw new Error(
    `${given} is not a MedBot workspace: it has no family/ folder, and no member folders with record.md, symptoms.md, medications.md or metrics/.`,
  );
}

/** The member folders under family/: sub-folders holding at least one MedBot record file. */
export function memberFolders(familyDir: string): string[] {
  return fs
    .readdirSync(familyDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .filter((name) =>
      ["record.md", "symptoms.md", "medications.md", "metrics"].some((f) =>
        fs.existsSync(path.join(familyDir, name, f)),
      ),
    )
    .sort();
}

/** Reads every member folder under `familyDir`. */
export function readMedbotFamily(familyDir: string): MedbotMember[] {
  return memberFolders(familyDir).map((folder) => readMedbotMember(familyDir, folder));
}

/** Reads one member folder (files that are missing are simply empty). */
export function readMedbotMember(familyDir: string, folder: string): MedbotMember {
  const problems: SourceProblem[] = [];
  const read = (name: string) => readSource(familyDir, path.join(folder, name), problems);
  const id = invalidMemberId(folder) ? idFromName(folder) : folder;
  const member: MedbotMember = {
    folder,
    id,
    profile: { displayName: folder, aliases: [] },
    facts: [],
    symptoms: [],
    medications: [],
    metrics: [],
    profileReadings: [],
    reports: listReports(familyDir, folder),
    profileFields: 0,
    problems,
  };
  const medications = read("medications.md");
  if (medications) member.medications = parseMedications(medications.file, medications.lines, member);
  const symptoms = read("symptoms.md");
  if (symptoms) member.symptoms = parseSymptoms(symptoms.file, symptoms.lines, problems);
  const record = read("record.md");
  if (record) parseRecord(record.file, record.lines, member);
  member.profile.relationship ??=
    relationshipFromName(folder) ?? relationshipFromName(member.profile.displayName);
  const metricsDir = path.join(familyDir, folder, "metrics");
  if (fs.existsSync(metricsDir) && fs.statSync(metricsDir).isDirectory()) {
    for (const entry of fs.readdirSync(metricsDir, { withFileTypes: true }).sort(byName)) {
      if (!entry.isFile() || entry.name.startsWith(".")) continue;
      const relative = path.join(folder, "metrics", entry.name);
      if (!entry.name.endsWith(".jsonl")) {
        problems.push({ file: relative, line: null, reason: "not a .jsonl metrics file; not read" });
        continue;
      }
      const source = readSource(familyDir, relative, problems);
      if (source) member.metrics.push(...parseMetricLines(source.file, source.lines, problems));
    }
  }
  return member;
}

const REPORT_FILE = /\.(md|markdown|txt|pdf)$/i;

/** The report files of a member, with the title (first "# " heading, else the name) and the date in the name. */
function listReports(familyDir: string, folder: string): MedbotReport[] {
  const dir = path.join(familyDir, folder, "reports");
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && REPORT_FILE.test(entry.name))
    .sort(byName)
    .map((entry) => {
      const absolutePath = path.join(dir, entry.name);
      const stem = entry.name.replace(REPORT_FILE, "");
      const dated = /^(\d{4})-?(\d{2})-?(\d{2})[-_ ]*(.*)$/.exec(stem);
      const heading = /\.(md|markdown)$/i.test(entry.name)
        ? /^#\s+(.+)$/m.exec(fs.readFileSync(absolutePath, "utf8"))?.[1]?.trim()
        : undefined;
      return {
        file: path.join(folder, "reports", entry.name),
        absolutePath,
        title: heading || dated?.[4]?.replace(/[-_]+/g, " ") || stem,
        reportDate: dated ? normaliseDay(`${dated[1]}-${dated[2]}-${dated[3]}`) : null,
      };
    });
}

function byName(a: fs.Dirent, b: fs.Dirent): number {
  return a.name.localeCompare(b.name);
}

function readSource(
  familyDir: string,
  relative: string,
  problems: SourceProblem[],
): { file: string; lines: string[] } | undefined {
  const full = path.join(familyDir, relative);
  if (!fs.existsSync(full)) return undefined;
  const stat = fs.lstatSync(full);
  if (stat.isSymbolicLink()) {
    problems.push({ file: relative, line: null, reason: "a symbolic link; not followed" });
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  if (stat.size > MAX_FILE_BYTES) {
    problems.push({ file: relative, line: null, reason: `larger than ${MAX_FILE_BYTES >> 20} MB; not read` });
    return undefined;
  }
  const text = fs.readFileSync(full, "utf8").replace(/^\uFEFF/, "");
  if (text.startsWith(GENERATED_MARK)) {
    problems.push({
      file: relative,
      line: null,
      reason: "a view generated by medbot itself, not a MedBot file",
    });
    return undefined;
  }
  return { file: relative, lines: text.split(/\r?\n/) };
}
