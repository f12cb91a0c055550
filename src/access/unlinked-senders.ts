// Allowed senders who are in no `people` entry: they may chat, but are granted no family member, so every
// question about one is answered "ask the owner". The gateway warns at start, and `medbot channels status`
// and `medbot doctor` name them, so the owner links them to a person (or lets them go) on purpose.
// With `people` empty this is every allowed chat sender: only the host's terminal acts as owner then.
import { CHANNEL_NAMES, type ChannelName, type MedbotConfig } from "../config/schema.js";
import { senderKey } from "./allow-list.js";
import type { PairedSender } from "./pairing.js";
import { personOf } from "./people.js";

/** One allowed sender without a person: "channel:id" (as people identities and `pairing revoke` write it). */
export interface UnlinkedSender {
  sender: string;
  channel: ChannelName;
  /** What lets them in: the channel's allowFrom, or a pairing approval. */
  via: "allowFrom" | "pairing";
}

/**
 * Senders an enabled channel lets in (allowFrom entries, and `approved` pairings while its dmPolicy is
 * "pairing") whom no `people` entry lists. `"*"` names nobody, so it adds none.
 */
export function sendersWithoutPerson(
  config: Pick<MedbotConfig, "channels" | "people">,
  approved: readonly PairedSender[],
): UnlinkedSender[] {
  const found = new Map<string, UnlinkedSender>();
  for (const channel of CHANNEL_NAMES) {
    const settings = config.channels[channel];
    if (!settings.enabled) continue;
    const listed = settings.allowFrom
      .filter((entry) => entry !== "*")
      .map((senderId) => ({ senderId, via: "allowFrom" as const }));
    const paired =
      settings.dmPolicy === "pairing"
        ? approved
            .filter((a) => a.channel === channel)
            .map((a) => ({ senderId: a.senderId, via: "pairing" as const }))
        : [];
    for (const { senderId, via } of [...listed, ...paired]) {
      const sender = `${channel}:${senderKey(channel, senderId)}`;
      if (!found.has(sender) && !personOf(config, channel, senderId))
        found.set(sender, { sender, channel, via });
    }
  }
  return [...found.values()];
}

/** The config key or command that lets this sender in. */
export function admittedBy(unlinked: UnlinkedSender): string {
  return unlinked.via === "allowFrom" ? `channels.${unlinked.channel}.allowFrom` : "a pairing approval";
}

/** The gateway's start-up warning for one such sender. */
export function unlinkedSenderWarning(unlinked: UnlinkedSender): string {
  return (
    `${unlinked.sender} may talk to medbot (${admittedBy(unlinked)}) but is in no people entry, so they see no ` +
    `family member; add "${unlinked.sender}" to people.<name>.identities with the members they care for`
  );
}
