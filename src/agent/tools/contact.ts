// send_to_contact: prepares a draft to send a member's export to a configured contact. It sends nothing:
// the person confirms with the code, in their own message, and only then does the export leave. What the
// person confirms is medbot's own text from the stored draft (real name and address), shown below the
// model's reply; the model only hears that a draft exists.
import * as path from "node:path";
import { z } from "zod";
import { ContactSends, draftToConfirm } from "../../sharing/contact-sends.js";
import { defineTool, ToolError } from "./tool.js";

export const sendToContact = defineTool({
  name: "send_to_contact",
  description:
    "Prepare (not send) a draft to send a member's doctor export PDF to a configured contact such as their doctor. " +
    "medbot shows the person the draft and its code; it is sent only when they reply /confirm CODE themselves.",
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
    const shown = draftToConfirm(draft, sends.memberName(context.actor, draft.memberId));
    // Without a person to tell (a tool run outside a conversation) the draft is the result itself.
    if (!context.tellPerson) return shown;
    context.tellPerson(shown);
    return (
      `Draft ready; NOTHING has been sent. medbot shows the person, below your reply, the draft of ` +
      `${path.basename(draft.file)} for ${draft.contact.name} with its code: do not repeat the address or ` +
      "the code; ask them to check the draft and to confirm or cancel it."
    );
  },
});
