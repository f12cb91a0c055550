// Starts the WhatsApp bridge from medbot's compiled JavaScript (bin/compiled.mjs), the code only its user can
// write; where dist/ cannot be used, tsx runs the sources with its on-disk cache off, because that cache lives in
// a shared temporary folder where another account could plant code that would run with the bridge's token.
import { compiledEntry } from "./compiled.mjs";

let entry = await compiledEntry("bridge/src/main.ts");
if (!entry) {
  process.env.TSX_DISABLE_CACHE = "1";
  const { register } = await import("tsx/esm/api");
  register();
  entry = new URL("../bridge/src/main.ts", import.meta.url).href;
}
const { startBridge } = await import(entry);
startBridge();
