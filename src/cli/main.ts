// The medbot command line: wires commander to the command groups. No business logic here. Only the group
// the command line names is loaded (src/cli/command-groups.ts); the others are listed by name and help
// line, so `medbot --version` and `--help` start without zod, SQLite or the model SDK.
import * as fs from "node:fs";
import { Command, Help } from "commander";
import { packagePath } from "../package-root.js";
import { COMMAND_GROUPS, type CommandGroup, invokedGroup } from "./command-groups.js";
import type { GlobalOptions } from "./startup.js";

const { version } = JSON.parse(fs.readFileSync(packagePath("package.json"), "utf8")) as {
  version: string;
};

/** The help line of each command listed but not loaded. */
const listedTerms = new Map<Command, string>();

/** The program with `loaded` registered by its own module and every other group listed by name. */
async function buildProgram(loaded: CommandGroup | undefined): Promise<Command> {
  const program = new Command()
    .name("medbot")
    .description("A private health assistant for your family, running on your own machine.")
    .version(version, "-V, --version")
    .option("-c, --config <path>", "config file; its folder holds all data (default ~/.medbot/config.json)")
    .option("--allow-root", "run even as root (not recommended; also MEDBOT_ALLOW_ROOT=1)")
    .showHelpAfterError()
    .configureHelp({
      subcommandTerm(command) {
        return listedTerms.get(command) ?? Help.prototype.subcommandTerm.call(this, command);
      },
    })
    .hook("preAction", async (command, action) => {
      if (listedTerms.has(action)) return; // parsed again with its group loaded, and guarded then
      const { guardRoot } = await import("./startup.js");
      guardRoot(command.optsWithGlobals<GlobalOptions>());
    });
  for (const group of COMMAND_GROUPS) {
    if (group === loaded) (await group.load())(program);
    else listGroup(program, group);
  }
  return program;
}

/**
 * Lists `group` by name and help line. Should commander ever run it (the command line read otherwise than
 * invokedGroup read it), it parses the command line again with that group loaded.
 */
function listGroup(program: Command, group: CommandGroup): void {
  const listed = program
    .command(group.name)
    .description(group.description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => {
      await (await buildProgram(group)).parseAsync(process.argv);
    });
  listedTerms.set(listed, group.term);
}

try {
  const program = await buildProgram(invokedGroup(process.argv.slice(2)));
  await program.parseAsync(process.argv);
} catch (error) {
  const { CliFailure } = await import("./startup.js");
  const { ConfigError } = await import("../config/load.js");
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof CliFailure) {
    process.stderr.write(`${error.message}\n`);
    process.exit(error.exitCode);
  }
  // Stack traces only on request: the message is what the user can act on.
  const detail = process.env.MEDBOT_DEBUG && error instanceof Error ? error.stack : undefined;
  process.stderr.write(`medbot: ${detail ?? (error instanceof Error ? error.message : String(error))}\n`);
  process.exit(1);
}
