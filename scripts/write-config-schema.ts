// Writes config.schema.json (JSON Schema of config.json, for editors). A test keeps it in step with schema.ts.
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/config/schema.js";
import { writePrivateFile } from "../src/storage/private-fs.js";

const target = fileURLToPath(new URL("../config.schema.json", import.meta.url));
writePrivateFile(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
