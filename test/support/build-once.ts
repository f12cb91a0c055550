// Vitest's global set-up: the tests run the real bin/medbot.mjs and bin/whatsapp-bridge.mjs, which run only the
// built JavaScript in dist/, so dist/ is built once before the run when it is missing or older than the sources.
import { ensureBuilt } from "../../scripts/build.js";

export default async function setup(): Promise<void> {
  await ensureBuilt();
}
