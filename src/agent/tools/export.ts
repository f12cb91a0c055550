// export_medical_record: writes a doctor export of one member into their family folder. It sends nothing.
import * as path from "node:path";
import { z } from "zod";
import { EXPORT_FORMATS, exportMedicalRecord } from "../../archive/export/index.js";
import { defineTool } from "./tool.js";

export const exportMedicalRecordTool = defineTool({
  name: "export_medical_record",
  description:
    "Write a doctor-ready summary of one member (Markdown and/or PDF) into their family folder; sends nothing.",
  parameters: z.object({
    member: z.string().min(1),
    format: z.enum(EXPORT_FORMATS).optional(),
    days: z.number().int().min(1).max(3650).optional().describe("symptom window, default 90"),
  }),
  async run({ member, format, days }, context) {
    const result = await exportMedicalRecord(context.archive, context.actor, member, {
      workspace: context.workspace,
      format,
      days,
    });
    const files = result.files.map((file) => path.relative(context.workspace, file));
    return `Exported ${result.member.displayName}'s medical record: ${files.join(", ")}`;
  },
});
