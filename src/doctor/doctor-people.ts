// Doctor's people check: allowed senders who are in no `people` entry (src/access/unlinked-senders.ts). They
// can chat but see no family member, which is rarely what the owner meant when letting them in.
import { approvedSendersIn } from "../access/pairing.js";
import { admittedBy, sendersWithoutPerson } from "../access/unlinked-senders.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Finding } from "./doctor.js";

/** people.unlinked: one finding per allowed sender whom no people entry lists (the database is only read). */
export function checkUnlinkedSenders(config: MedbotConfig, paths: Pick<MedbotPaths, "database">): Finding[] {
  return sendersWithoutPerson(config, approvedSendersIn(paths.database)).map((unlinked) => ({
    id: "people.unlinked",
    severity: "medium",
    what: `${unlinked.sender} may talk to medbot (${admittedBy(unlinked)}) but is in no people entry, so they see no family member.`,
    why: "A sender reaches only the members their people entry grants; without one, every question about a member is answered with 'ask the owner'.",
    fix:
      `If they are family, add "${unlinked.sender}" to people.<name>.identities with the members they care for ` +
      `(members: ["grandma"], or "*" for an owner); otherwise ${
        unlinked.via === "allowFrom"
          ? `remove them from channels.${unlinked.channel}.allowFrom`
          : `run medbot pairing revoke ${unlinked.sender}`
      }.`,
    fixable: false,
  }));
}
