// Doctor's permission checks: everything under the data folder is the user's own, folders 0700, files 0600.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type MedbotPaths, resolvePaths } from "../../src/config/paths.js";
import { checkDatabaseIntact, checkFileModes, fixFileModes } from "../../src/doctor/doctor-files.js";
import { openDatabase } from "../../src/storage/db.js";
import { ensurePrivateDir, writePrivateFile } from "../../src/storage/private-fs.js";
import { notPrivateUnder } from "../support/medbot-cli.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-files-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const uid = process.getuid?.();
const isRoot = uid === 0;

/** A private deployment: config, database, log and WhatsApp session, all 0700/0600. */
function privateDeployment(name: string, workspace?: string): MedbotPaths {
  const paths = resolvePaths({ configPath: path.join(scratch, name, "config.json"), workspace });
  writePrivateFile(paths.configFile, "{}");
  writePrivateFile(paths.database, "");
  writePrivateFile(path.join(paths.logs, "gateway.log"), "");
  writePrivateFile(path.join(paths.home, "whatsapp-auth", "creds.json"), "{}");
  ensurePrivateDir(path.join(paths.workspace, "media", "whatsapp"));
  return paths;
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe("doctor: file permissions", () => {
  it("finds nothing in a deployment medbot wrote itself", () => {
    expect(checkFileModes(privateDeployment("clean"), uid)).toEqual([]);
  });

  it("flags every loose path, one finding per part of the data folder, and --fix repairs them all", () => {
    const paths = privateDeployment("loose");
    const creds = path.join(paths.home, "whatsapp-auth", "creds.json");
    const log = path.join(paths.logs, "gateway.log");
    fs.chmodSync(paths.home, 0o755);
    fs.chmodSync(paths.configFile, 0o644);
    fs.chmodSync(paths.database, 0o666);
    fs.chmodSync(path.join(paths.workspace, "media"), 0o775);
    fs.chmodSync(log, 0o640);
    fs.chmodSync(creds, 0o604);

    const findings = checkFileModes(paths, uid);
    expect(findings.every((f) => f.id === "perms.mode" && f.severity === "high" && f.fixable)).toBe(true);
    expect(findings.flatMap((f) => f.paths).sort()).toEqual(
      [paths.home, paths.configFile, paths.database, path.join(paths.workspace, "media"), log, creds].sort(),
    );
    expect(findings).toHaveLength(5);
    expect(findings.find((f) => f.paths?.includes(paths.configFile))?.what).toBe(
      `${paths.configFile} is 0644: open to other users.`,
    );
    expect(findings.find((f) => f.paths?.includes(paths.database))?.what).toMatch(
      /^the workspace .*: 2 paths open to other users: .*medbot\.db \(0666\)/,
    );

    const changed = fixFileModes(paths, uid);
    expect(changed.map((c) => c.path).sort()).toEqual(findings.flatMap((f) => f.paths).sort());
    expect(checkFileModes(paths, uid)).toEqual([]);
    expect(notPrivateUnder(paths.home)).toEqual([]);
  });

  it("checks a workspace that lives outside the data folder too", () => {
    const paths = privateDeployment("outside", path.join(scratch, "elsewhere", "workspace"));
    fs.chmodSync(paths.database, 0o644);
    const findings = checkFileModes(paths, uid);
    expect(findings.map((f) => f.paths)).toEqual([[paths.database]]);
    expect(findings[0]?.what).toBe(`${paths.database} is 0644: open to other users.`);
  });

  it("neither judges nor follows symlinks (a link to a public file is not tightened)", () => {
    const paths = privateDeployment("links");
    const outside = path.join(scratch, "public.txt");
    fs.writeFileSync(outside, "public");
    fs.chmodSync(outside, 0o644);
    fs.symlinkSync(outside, path.join(paths.workspace, "link.txt"));
    expect(checkFileModes(paths, uid)).toEqual([]);
    expect(fixFileModes(paths, uid)).toEqual([]);
    expect(modeOf(outside)).toBe(0o644);
  });

  it.skipIf(!isRoot)("flags files owned by another user, which --fix leaves alone", () => {
    const paths = privateDeployment("owner");
    fs.chownSync(paths.configFile, 4242, 4242);
    fs.chmodSync(paths.configFile, 0o644);
    const findings = checkFileModes(paths, uid);
    expect(findings.map((f) => `${f.id}:${f.fixable}`).sort()).toEqual([
      "perms.mode:false",
      "perms.owner:false",
    ]);
    expect(findings.find((f) => f.id === "perms.owner")?.what).toContain("uid 4242");
    expect(fixFileModes(paths, uid)).toEqual([]);
    expect(modeOf(paths.configFile)).toBe(0o644);
  });

  it("reports an emptied medbot.db where a database was (high), and nothing for one never created", () => {
    const paths = privateDeployment("emptied");
    expect(checkDatabaseIntact(paths)).toEqual([]);
    openDatabase(paths.database).close();
    expect(checkDatabaseIntact(paths)).toEqual([]);
    fs.truncateSync(paths.database, 0);
    fs.rmSync(`${paths.database}-wal`, { force: true });
    const [finding, ...rest] = checkDatabaseIntact(paths);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ id: "storage.database", severity: "high", fixable: false });
    expect(finding?.what).toContain(`${paths.database} is empty (0 bytes)`);
    expect(finding?.fix).toContain("restore medbot.db from a backup");
  });
});
