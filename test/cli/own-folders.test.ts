// medbot makes only its own folders private: a system folder, the home folder, a shared folder or another user's
// folder given as the data folder or workspace is refused (exit 2) and left exactly as it was.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runMedbot, tempHome, writeConfig } from "../support/medbot-cli.js";

const isRoot = process.getuid?.() === 0;

/** Mode bits (with set-id and sticky bits) and owner of `folder`. */
function ownership(folder: string): { mode: string; uid: number } {
  const stat = fs.statSync(folder);
  return { mode: (stat.mode & 0o7777).toString(8), uid: stat.uid };
}

/** A data folder whose config points the workspace at `workspace`. */
function instanceWithWorkspace(workspace: string): string {
  const home = tempHome();
  writeConfig(home, { agents: { defaults: { workspace } } });
  return home;
}

/** A folder standing in for the user's home (HOME points at it), 0755 like a real one. */
function fakeUserHome(): string {
  const folder = tempHome("medbot-user-");
  fs.chmodSync(folder, 0o755);
  return folder;
}

describe("folders medbot does not own", () => {
  it("refuses a system folder as the workspace, with exit 2 and the folder named, and never chmods it", async () => {
    for (const system of ["/", "/etc", "/tmp", "/usr"]) {
      const before = ownership(system);
      const result = await runMedbot(["status", "--json"], { home: instanceWithWorkspace(system) });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("agents.defaults.workspace");
      expect(result.stderr).toContain(`${system} is a system folder`);
      expect(result.stderr).toContain("will not change this one");
      expect(ownership(system)).toEqual(before);
    }
  });

  it("refuses the home folder itself, as the workspace or as the data folder, and leaves it 0755", async () => {
    const userHome = fakeUserHome();
    const asWorkspace = await runMedbot(["status", "--json"], {
      home: instanceWithWorkspace(userHome),
      env: { HOME: userHome },
    });
    expect(asWorkspace.code).toBe(2);
    expect(asWorkspace.stderr).toContain(`${userHome} is the home folder itself`);

    writeConfig(userHome, {});
    fs.chmodSync(path.join(userHome, "config.json"), 0o644);
    const asDataFolder = await runMedbot(["status", "--json"], { home: userHome, env: { HOME: userHome } });
    expect(asDataFolder.code).toBe(2);
    expect(asDataFolder.stderr).toContain("data folder");
    expect(ownership(userHome).mode).toBe("755");
    expect(fs.statSync(path.join(userHome, "config.json")).mode & 0o777).toBe(0o644);
  });

  it("refuses shared 1777 and 2775 folders instead of flattening them", async () => {
    for (const mode of [0o1777, 0o2775]) {
      const shared = tempHome("medbot-shared-");
      fs.chmodSync(shared, mode);
      const result = await runMedbot(["status", "--json"], { home: instanceWithWorkspace(shared) });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${shared} is a shared folder (mode 0${mode.toString(8)})`);
      expect(ownership(shared).mode).toBe(mode.toString(8));
    }
  });

  it.skipIf(!isRoot)(
    "refuses a workspace owned by another user and changes neither its mode nor its owner",
    async () => {
      const foreign = tempHome("medbot-foreign-");
      fs.chmodSync(foreign, 0o755);
      fs.chownSync(foreign, 65534, 65534);
      const result = await runMedbot(["status", "--json"], { home: instanceWithWorkspace(foreign) });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${foreign} belongs to another user (uid 65534`);
      expect(ownership(foreign)).toEqual({ mode: "755", uid: 65534 });
    },
  );

  it("onboard writes nothing into a refused workspace", async () => {
    const userHome = fakeUserHome();
    const home = instanceWithWorkspace(userHome);
    const result = await runMedbot(["onboard", "--yes", "--provider", "ollama", "--model", "llama3"], {
      home,
      env: { HOME: userHome },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${userHome} is the home folder itself`);
    expect(fs.readdirSync(userHome)).toEqual([]);
    expect(ownership(userHome).mode).toBe("755");
  });

  it("doctor reports a refused workspace and --fix neither walks nor chmods it", async () => {
    const userHome = fakeUserHome();
    fs.writeFileSync(path.join(userHome, "notes.txt"), "not medbot's");
    fs.chmodSync(path.join(userHome, "notes.txt"), 0o644);
    const result = await runMedbot(["doctor", "--fix", "--json"], {
      home: instanceWithWorkspace(userHome),
      env: { HOME: userHome },
    });
    const report = JSON.parse(result.stdout) as {
      findings: { id: string; what: string }[];
      fixed: unknown[];
    };
    const refused = report.findings.find((finding) => finding.id === "perms.folder");
    expect(refused?.what).toContain(`${userHome} is the home folder itself`);
    expect(report.fixed).toEqual([]);
    expect(ownership(userHome).mode).toBe("755");
    expect(fs.statSync(path.join(userHome, "notes.txt")).mode & 0o777).toBe(0o644);
  });

  it("still tightens a loose workspace that is the user's own", async () => {
    const own = path.join(tempHome(), "workspace");
    fs.mkdirSync(own, { mode: 0o755 });
    fs.chmodSync(own, 0o755);
    const result = await runMedbot(["status", "--json"], { home: instanceWithWorkspace(own) });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`${own} was 0755; tightened to 0700`);
    expect(ownership(own).mode).toBe("700");
  });
});
