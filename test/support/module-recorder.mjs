// Preloaded with `node --import` to record every module a process loads, for the start-up test and bench:
// ES modules through a load hook (run on the hooks thread), CommonJS ones from require's cache at exit. Each
// file URL goes on its own line of the file named by MEDBOT_MODULE_LOG.
import * as fs from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

const log = process.env.MEDBOT_MODULE_LOG;
if (log) {
  const hooks = `
    import * as fs from "node:fs";
    export async function load(url, context, nextLoad) {
      fs.appendFileSync(${JSON.stringify(log)}, url + "\\n");
      return nextLoad(url, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const require = createRequire(import.meta.url);
  process.on("exit", () => {
    const cached = Object.keys(require.cache).map((file) => pathToFileURL(file).href);
    fs.appendFileSync(log, cached.map((url) => `${url}\n`).join(""));
  });
}
