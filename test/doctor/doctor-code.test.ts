// Doctor's code check: bin/ and dist/, the code medbot runs, can be changed by nobody but medbot's user (or root).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkCodeModes } from "../../src/doctor/doctor-code.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-code-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const uid = process.getuid?.();
const isRoot = uid === 0;

/** A package folder with a launcher in bin/ and one build in dist/, 0755/0644 as medbot builds it. */
function packageFolder(name: string): { root: string; launcher: string; build: string; compiled: string } {
  const root = path.join(scratch, name);
  const launcher = path.join(root, "bin", "medbot.mjs");
  const build = path.join(root, "dist", "0123456789abcdef");
  const compiled = path.join(build, "src", "cli", "main.js");
  for (const folder of [path.dirname(launcher), path.dirname(compiled)])
    fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(launcher, "");
  fs.writeFileSync(compiled, "");
  for (const folder of [
    root,
    path.dirname(launcher),
    path.join(root, "dist"),
    build,
    path.join(build, "src"),
  ]) {
    fs.chmodSync(folder, 0o755);
  }
  fs.chmodSync(path.dirname(compiled), 0o755);
  fs.chmodSync(launcher, 0o644);
  fs.chmodSync(compiled, 0o644);
  return { root, launcher, build, compiled };
}

describe("doctor: the code medbot runs", () => {
  it("finds nothing when bin/ and dist/ are 0755/0644 and the user's own", () => {
    expect(checkCodeModes(uid, packageFolder("clean").root)).toEqual([]);
  });

  it("flags a build folder and a launcher that group or others can write, in one high finding", () => {
    const { root, launcher, build } = packageFolder("writable");
    fs.chmodSync(build, 0o777);
    fs.chmodSync(launcher, 0o664);
    const findings = checkCodeModes(uid, root);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ id: "perms.code", severity: "high", fixable: false });
    expect(findings[0]?.paths?.sort()).toEqual([build, launcher].sort());
    expect(findings[0]?.what).toContain(`${build} (0777, uid ${uid})`);
  });

  it.skipIf(!isRoot)("flags a compiled file that belongs to another user", () => {
    const { root, compiled } = packageFolder("foreign");
    fs.chownSync(compiled, 65534, 65534);
    expect(checkCodeModes(1000, root)[0]?.paths).toEqual([compiled]);
    expect(checkCodeModes(uid, root)[0]?.paths).toEqual([compiled]);
  });
});
