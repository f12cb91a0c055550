// Running as root is refused with an explanation unless explicitly allowed (then a warning). CI runs as root.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

const isRoot = process.getuid?.() === 0;

describe("medbot as root", () => {
  it.skipIf(!isRoot)(
    "refuses to run without the override, explaining why and how, and touches nothing",
    async () => {
      const home = path.join(tempHome(), "medbot-data");
      const result = await runMedbot(["onboard", "--yes", "--model", "m"], { home, noRootOverride: true });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/medbot refuses to run as root/);
      expect(result.stderr).toMatch(/health records/);
      expect(result.stderr).toMatch(/--allow-root or set MEDBOT_ALLOW_ROOT=1/);
      expect(result.stdout).toBe("");
      expect(fs.existsSync(home)).toBe(false);
    },
  );

  it.skipIf(!isRoot)("runs with --allow-root, with a warning", async () => {
    const result = await runMedbot(["--allow-root", "status"], { home: tempHome(), noRootOverride: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: running as root/m);
    expect(result.stdout).toMatch(/^Config:/);
  });

  it.skipIf(!isRoot)("runs with MEDBOT_ALLOW_ROOT=1, with a warning", async () => {
    const result = await runMedbot(["status"], {
      home: tempHome(),
      noRootOverride: true,
      env: { MEDBOT_ALLOW_ROOT: "1" },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: running as root/m);
  });
});
