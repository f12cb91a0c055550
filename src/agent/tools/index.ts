// Every tool the agent offers, in the order the model sees them.
import { familyRecord } from "./family-record.js";
import { fileTools } from "./files.js";
import type { Tool } from "./tool.js";

export const defaultTools: Tool[] = [familyRecord, ...fileTools];
