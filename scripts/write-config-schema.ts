// Writes config.schema.json (JSON Schema of config.json, for editors): a repo file, not user data, so plain fs.
// A test keeps it in step with schema.ts.

import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/config/schema.js";

const target = fileURLToPath(new URL("../config.schema.json", import.meta.url));
fs.writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
