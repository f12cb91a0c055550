// Short commands start without the code of the others (issue 15): `medbot --version` and `--help` load
// neither zod, SQLite, the model SDK nor a chat platform's library, and one command loads only its group.
import { describe, expect, it } from "vitest";
import { COMMAND_GROUPS, invokedGroup } from "../../src/cli/command-groups.js";
import { modulesLoadedBy, packagesAmong } from "../support/loaded-modules.js";
import { tempHome } from "../support/medbot-cli.js";

const HEAVY = ["zod", "better-sqlite3", "openai", "yaml", "grammy", "pdfkit", "pino", "croner"];

describe("medbot start-up loads only what the command needs", () => {
  it.each([
    ["--version"],
    ["--help"],
    ["-c", "/nowhere/config.json", "--version"],
  ])("%s loads no heavy package", async (...args) => {
    const run = await modulesLoadedBy(args, { home: `${tempHome()}/medbot-data` });
    expect(run.code).toBe(0);
    expect(run.modules.some((url) => url.endsWith("/dist/src/cli/main.js"))).toBe(true);
    expect(packagesAmong(run.modules)).toEqual(["commander"]);
    for (const name of HEAVY) expect(packagesAmong(run.modules)).not.toContain(name);
    // No command group's module: only the table that lists them.
    const groups = run.modules.filter((url) =>
      /\/dist\/src\/cli\/(metrics|family|gateway|agent)\.js$/.test(url),
    );
    expect(groups).toEqual([]);
  });

  it("`metrics --help` loads the metrics group and no other group", async () => {
    const run = await modulesLoadedBy(["metrics", "--help"], { home: `${tempHome()}/medbot-data` });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("add [options] <member> <kind> <value>");
    const cliModules = run.modules.flatMap((url) => /\/dist\/src\/cli\/([^/]+)\.js$/.exec(url)?.[1] ?? []);
    expect(cliModules).toContain("metrics");
    for (const other of ["gateway", "agent", "onboard", "channels", "service", "doctor"])
      expect(cliModules).not.toContain(other);
  });
});

describe("invokedGroup reads the command the way commander does", () => {
  const name = (args: string[]) => invokedGroup(args)?.name;
  it.each([
    [["metrics", "add", "Ana", "bp", "130/85"], "metrics"],
    [["-c", "family", "status"], "status"],
    [["--config", "x.json", "--allow-root", "export", "Ana"], "export"],
    [["--config=x.json", "doctor", "--json"], "doctor"],
    [["help", "cron"], "cron"],
    [["help", "--allow-root", "cron"], "cron"],
    [["--", "skills", "list"], "skills"],
    [["--version"], undefined],
    [["--help"], undefined],
    [[], undefined],
    [["metrix"], undefined],
  ])("%j runs %s", (args, expected) => {
    expect(name(args)).toBe(expected);
  });
});

describe("the command table matches what each group registers", () => {
  it.each(
    COMMAND_GROUPS.map((group) => [group.name, group] as const),
  )("%s: name, help line and description", async (_name, group) => {
    const { Command, Help } = await import("commander");
    const program = new Command();
    (await group.load())(program);
    expect(program.commands.map((command) => command.name())).toEqual([group.name]);
    const registered = program.commands[0]!;
    expect(new Help().subcommandTerm(registered)).toBe(group.term);
    expect(registered.description()).toBe(group.description);
  });
});
