// A second process writing to the family archive the way `medbot metrics add` does, many times over:
// each write opens the archive, records one reading, renders the member's views and closes
// (test/storage/two-writers.test.ts runs it beside a live gateway). On stdout, one line per write:
//   ready                   the member exists; writes start
//   ok <n>                  write n committed
//   failed <n> <message>    write n threw (its message; no health content in these test readings)
// Usage: node --import tsx metric-writer.ts DATA_FOLDER COUNT
import { hostOwner } from "../../src/access/actor.js";
import { recordMetric } from "../../src/archive/metrics.js";
import { openArchive } from "../../src/cli/archive-session.js";
import { resolvePaths } from "../../src/config/paths.js";

const [home, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!home || !Number.isInteger(count) || count < 1) {
  process.stderr.write("usage: metric-writer.ts DATA_FOLDER COUNT\n");
  process.exit(2);
}
const paths = resolvePaths({ configPath: `${home}/config.json` });
const owner = hostOwner("cli");
const say = (line: string) => process.stdout.write(`${line}\n`);

const setup = openArchive(paths);
if (setup.archive.members(owner).length === 0) setup.archive.addMember(owner, { displayName: "Dad" });
setup.close();
say("ready");

for (let n = 1; n <= count; n++) {
  try {
    const session = openArchive(paths);
    try {
      recordMetric(session.archive, owner, "Dad", { kind: "weight", value: String(70 + (n % 10)) });
    } finally {
      session.close();
    }
    say(`ok ${n}`);
  } catch (error) {
    say(`failed ${n} ${error instanceof Error ? error.message : String(error)}`);
  }
}
