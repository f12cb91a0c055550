#!/usr/bin/env node
// Runs medbot from its compiled JavaScript (bin/compiled.mjs); where dist/ cannot be written, tsx runs the
// TypeScript sources directly. Either way a fresh clone needs no build step.
import { compiledEntry } from "./compiled.mjs";

const entry = await compiledEntry("cli/main.ts");
if (entry) {
  await import(entry);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
