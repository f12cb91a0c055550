// The medbot command line: wires commander to the command groups. No business logic here.
import * as fs from "node:fs";
import { Command } from "commander";
import { ConfigError } from "../config/load.js";
import { packagePath } from "../package-root.js";
import { registerAgent } from "./agent.js";
import { registerAudit } from "./audit.js";
import { registerChannels } from "./channels.js";
import { registerCron } from "./cron.js";
import { registerDoctor } from "./doctor.js";
import { registerExport } from "./export.js";
import { registerFamily } from "./family.js";
import { registerGateway } from "./gateway.js";
import { registerImportMedbot } from "./import-medbot.js";
import { registerMetrics } from "./metrics.js";
import { registerOnboard } from "./onboard.js";
import { registerPairing } from "./pairing.js";
import { registerService } from "./service.js";
import { registerSkills } from "./skills.js";
import { CliFailure, type GlobalOptions, guardRoot } from "./startup.js";
import { registerStatus } from "./status.js";

const { version } = JSON.parse(fs.readFileSync(packagePath("package.json"), "utf8")) as {
  version: string;
};

const program = new Command()
  .name("medbot")
  .description("A private health assistant for your family, running on your own machine.")
  .version(version, "-V, --version")
  .option("-c, --config <path>", "config file; its folder holds all data (default ~/.medbot/config.json)")
  .option("--allow-root", "run even as root (not recommended; also MEDBOT_ALLOW_ROOT=1)")
  .showHelpAfterError()
  .hook("preAction", (command) => guardRoot(command.optsWithGlobals<GlobalOptions>()));

registerOnboard(program);
registerStatus(program);
registerAgent(program);
registerFamily(program);
registerAudit(program);
registerImportMedbot(program);
registerMetrics(program);
registerExport(program);
registerGateway(program);
registerPairing(program);
registerChannels(program);
registerCron(program);
registerDoctor(program);
registerService(program);
registerSkills(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
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
