#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=2
// Runs medbot from its built JavaScript in dist/ (`npm run build`; see bin/compiled.mjs). The shebang keeps
// V8's young generation small (1 MiB semi-spaces) and its worker pool at two: a household gateway allocates
// little, and this keeps its idle memory some 15 MiB lower.
import { builtEntry } from "./compiled.mjs";

await import(builtEntry("src/cli/main.ts"));
