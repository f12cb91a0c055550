// --version and --help on every command.
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { runMedbot, tempHome } from "../support/medbot-cli.js";

const { version } = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

describe("medbot --version and --help", () => {
  it("--version prints package.json's version", async () => {
    const result = await runMedbot(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  it("--help lists every command", async () => {
    const result = await runMedbot(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: medbot /);
    for (const command of ["onboard", "status", "agent"])
      expect(result.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, "m"));
    expect(result.stdout).toContain("--config <path>");
    expect(result.stdout).toContain("--allow-root");
  });

  it.each([
    [
      "onboard",
      ["--provider <name>", "--api-key <key>", "--api-base <url>", "--model <model>", "--yes", "--force"],
    ],
    ["status", ["--json"]],
    ["agent", ["--message <text>", "--session <id>"]],
  ])("%s --help shows its options and does nothing else", async (command, options) => {
    const home = `${tempHome()}/medbot-data`;
    const result = await runMedbot([command, "--help"], { home });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: medbot ${command} `));
    for (const option of options) expect(result.stdout).toContain(option);
    expect(fs.existsSync(home)).toBe(false);
  });
});
