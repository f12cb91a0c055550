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
