// send_to_contact: prepares a draft to send a member's export to a configured contact. It sends nothing:
// the person confirms with the code, in their own message, and only then does the export leave.
import * as path from "node:path";
import { z } from "zod";
import { ContactSends, DRAFT_TTL_MS } from "../../security/egress.js";
import { defineTool, ToolError } from "./tool.js";

export const sendToContact = defineTool({
  name: "send_to_contact",
  description:
    "Prepare (not send) a draft to send a member's doctor export PDF to a configured contact such as their doctor. " +
    "Returns a code: show the draft to the user; it is sent only when they reply /confirm CODE themselves.",
  parameters: z.object({
    member: z.string().min(1),
    contact: z.string().min(1).describe("contact name from the configuration"),
    export_file: z.string().optional().describe("an existing doctor_export_*.pdf; default: a new export"),
    days: z.number().int().min(1).max(3650).optional().describe("symptom window of a new export"),
  }),
  async run({ member, contact, export_file, days }, context) {
    if (!context.config) throw new ToolError("sending to contacts needs the loaded configuration");
    const sends = new ContactSends(context.archive, context.config, context.workspace);
    const draft = await sends.draft(context.actor, {
      member,
      contact,
      ...(export_file ? { exportFile: export_file } : {}),
      ...(days ? { days } : {}),
    });
    const name = sends.memberName(context.actor, draft.memberId);
    return [
      `Draft ready; NOTHING has been sent. Show the user exactly this:`,
      `Send ${name}'s medical summary (${path.basename(draft.file)}) to ${draft.contact.name} ` +
        `(${draft.contact.channel}: ${draft.contact.address})?`,
      `To send it, reply: /confirm ${draft.code}`,
      `To drop it: /cancel ${draft.code}`,
      `The code is valid for ${DRAFT_TTL_MS / 60_000} minutes.`,
    ].join("\n");
  },
});
