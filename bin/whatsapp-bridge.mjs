// Starts the WhatsApp bridge from medbot's built JavaScript in dist/ (see bin/compiled.mjs): code only its
// owner can write, with no TypeScript loader and no cache in a shared temporary folder.
import { builtEntry } from "./compiled.mjs";

const { startBridge } = await import(builtEntry("bridge/src/main.ts"));
startBridge();
