// Who is acting: a person, through which channel and message, and which members they may see and change.

export interface Actor {
  /** The person's name in config `people`, or "owner" for the host's own terminal. */
  person: string;
  channel: string;
  messageId?: string;
  /** Member ids this person may see and change; "*" for owners. */
  grants: "*" | readonly string[];
  /** The person's sender identities ("whatsapp:491701234567"): whose received files are their own. */
  identities?: readonly string[];
}

/** The person at the host's terminal (`medbot` CLI): the machine's owner, with every member. */
export function hostOwner(channel = "cli"): Actor {
  return { person: "owner", channel, grants: "*" };
}

/** True when the actor may see and change this member. */
export function mayAccess(actor: Actor, memberId: string): boolean {
  return actor.grants === "*" || actor.grants.includes(memberId);
}

/**
 * What a person granted no member is told when they ask about one, instead of "no members are recorded":
 * members may well exist, and which ones is not theirs to learn.
 */
export const NO_MEMBER_ACCESS =
  "This person has not been given access to any family member's record. Tell them to ask the household's " +
  "owner to add them to medbot's people list with the members they care for. Do not guess or name members.";
