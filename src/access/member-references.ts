// Where config.json names a member id (a person's grants, medication reminder chats). After a merge or a
// removal these are reported for the owner to update: medbot never edits the config file itself.
import type { MedbotConfig } from "../config/schema.js";

/** The config keys that name `memberId`, as JSON paths (e.g. people.ann.members, reminders.deliverTo.mum). */
export function configReferencesTo(config: MedbotConfig, memberId: string): string[] {
  const found: string[] = [];
  for (const [person, entry] of Object.entries(config.people)) {
    if (Array.isArray(entry.members) && entry.members.includes(memberId))
      found.push(`people.${person}.members`);
  }
  if (Object.hasOwn(config.reminders.deliverTo, memberId)) found.push(`reminders.deliverTo.${memberId}`);
  return found;
}
