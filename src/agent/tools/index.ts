// Every tool the agent offers, in the order the model sees them.
import { sendToContact } from "./contact.js";
import { cronTool } from "./cron.js";
import { recordDoseTool } from "./doses.js";
import { drugInteractionCheck } from "./drug-interactions.js";
import { exportMedicalRecordTool } from "./export.js";
import { familyRecord } from "./family-record.js";
import { fileTools } from "./files.js";
import { metricTools } from "./metrics.js";
import { ingestReportTool } from "./reports.js";
import type { Tool } from "./tool.js";

export const defaultTools: Tool[] = [
  familyRecord,
  recordDoseTool,
  ...metricTools,
  ingestReportTool,
  exportMedicalRecordTool,
  sendToContact,
  cronTool,
  drugInteractionCheck,
  ...fileTools,
];
