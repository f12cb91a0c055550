// Doctor's location checks: no data folder in a git work tree or a synced folder, no key in a tracked file.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolvePaths } from "../../src/config/paths.js";
import { configSchema } from "../../src/config/schema.js";
import {
  checkLocation,
  checkTrackedSecrets,
  configuredSecrets,
  syncedFolder,
} from "../../src/doctor/doctor-location.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-location-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const homeAt = (...parts: string[]) => {
  const home = path.join(scratch, ...parts);
  fs.mkdirSync(home, { recursive: true });
  return resolvePaths({ configPath: path.join(home, "config.json") });
};
const git = (repo: string, ...args: string[]) =>
  execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args]);
const PROVIDER_KEY = "sk-test-0123456789abcdefghijklmnopqrstuv";

describe("doctor: where the data folder lives", () => {
  it("finds nothing for a folder outside git and sync clients", () => {
    expect(checkLocation(homeAt("plain", ".medbot"))).toEqual([]);
  });

  it("flags a data folder inside a git work tree (high), naming the repository", () => {
    const paths = homeAt("repo", "deploy", ".medbot");
    fs.mkdirSync(path.join(scratch, "repo", ".git"));
    const findings = checkLocation(paths);
    expect(findings.map((f) => `${f.id}:${f.severity}`)).toEqual(["location.git:high"]);
    expect(findings[0]?.what).toContain(path.join(scratch, "repo"));
  });

  it("flags synced folders by name and by their client's marker", () => {
    const cases: [string[], string][] = [
      [["Dropbox", "medbot"], "Dropbox"],
      [["OneDrive - Contoso", "medbot"], "OneDrive"],
      [["Library", "Mobile Documents", "com~apple~CloudDocs", "medbot"], "iCloud Drive"],
      [["Google Drive", "medbot"], "Google Drive"],
    ];
    for (const [parts, service] of cases) {
      const findings = checkLocation(homeAt(...parts));
      expect(findings.map((f) => f.id)).toEqual(["location.sync"]);
      expect(findings[0]?.what).toContain(service);
    }
    const shared = path.join(scratch, "shared");
    fs.mkdirSync(path.join(shared, ".stfolder"), { recursive: true });
    expect(syncedFolder(homeAt("shared", "medbot").home)).toEqual({
      service: "Syncthing",
      at: path.join(shared, ".stfolder"),
    });
    fs.mkdirSync(path.join(scratch, "box"));
    fs.writeFileSync(path.join(scratch, "box", ".dropbox"), "");
    expect(syncedFolder(homeAt("box", "a", "medbot").home)?.service).toBe("Dropbox");
  });
});

describe("doctor: keys in files git tracks", () => {
  const config = configSchema.parse({
    providers: { openai: { apiKey: "plain-provider-key-42" } },
    channels: { whatsapp: { bridgeToken: "b".repeat(64) } },
  });

  it("lists configured credentials by key, skipping empty and tiny ones", () => {
    expect(configuredSecrets(config).map((s) => s.key)).toEqual([
      "providers.openai.apiKey",
      "channels.whatsapp.bridgeToken",
    ]);
  });

  it("finds nothing when the data folder is not in a repository", async () => {
    expect(await checkTrackedSecrets(homeAt("norepo", ".medbot"), config)).toEqual([]);
  });

  it("flags a committed config key and a key-shaped string, never an untracked file, never showing the key", async () => {
    const repo = path.join(scratch, "dotfiles");
    const paths = homeAt("dotfiles", "medbot");
    git(scratch, "init", "-q", repo);
    fs.writeFileSync(
      paths.configFile,
      JSON.stringify({ providers: { openai: { apiKey: "plain-provider-key-42" } } }),
    );
    fs.writeFileSync(path.join(repo, "setup.sh"), `export OPENAI_API_KEY=${PROVIDER_KEY}\n`);
    fs.writeFileSync(path.join(repo, "README.md"), "nothing secret here\n");
    git(repo, "add", "medbot/config.json", "setup.sh", "README.md");
    git(repo, "commit", "-q", "-m", "init");
    fs.writeFileSync(path.join(paths.home, "notes.txt"), `key ${PROVIDER_KEY}`);

    const findings = await checkTrackedSecrets(paths, config);
    expect(findings.map((f) => `${f.id}:${f.severity}`)).toEqual(["secrets.git:high", "secrets.git:high"]);
    expect(findings.map((f) => f.paths?.[0]).sort()).toEqual(
      [paths.configFile, path.join(repo, "setup.sh")].sort(),
    );
    expect(findings.find((f) => f.paths?.[0] === paths.configFile)?.what).toContain(
      "providers.openai.apiKey",
    );
    expect(findings.find((f) => f.paths?.[0]?.endsWith("setup.sh"))?.what).toContain("an API key (sk-...)");
    const text = JSON.stringify(findings);
    expect(text).not.toContain("plain-provider-key-42");
    expect(text).not.toContain(PROVIDER_KEY);
  });

  it("still finds key-shaped strings when the config does not load", async () => {
    const findings = await checkTrackedSecrets(homeAt("dotfiles", "medbot"), undefined);
    expect(findings.map((f) => f.paths?.[0])).toEqual([path.join(scratch, "dotfiles", "setup.sh")]);
  });
});
