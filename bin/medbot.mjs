#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=2
// Runs medbot from its compiled JavaScript (bin/compiled.mjs); where dist/ cannot be written, tsx runs the
// TypeScript sources directly (without tsx's on-disk cache). Either way a fresh clone needs no build step.
// The shebang keeps V8's young generation small (1 MiB semi-spaces) and its worker pool at two: a household
// gateway allocates little, and this keeps its idle memory some 15 MiB lower.
import { compiledEntry } from "./compiled.mjs";

const entry = await compiledEntry("src/cli/main.ts");
if (entry) {
  await import(entry);
} else {
  // tsx's cache sits in a shared temporary folder another account could plant code in: run without it.
  process.env.TSX_DISABLE_CACHE = "1";
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
