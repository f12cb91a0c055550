// Received files belong to what their sender may see: a lab report Dad sends is Dad's, not every caregiver's.
// Each file lands in its sender's own folder, media/<channel>/<sender>/, and a person other than an owner may
// read only the folders of their own sender identities (files they sent themselves). Owners read everything;
// anything else under media/ (files saved before this rule, the channel folders themselves) is owners' only.
import * as fs from "node:fs";
import * as path from "node:path";
import type { ChannelName } from "../config/schema.js";
import { ensurePrivateDir } from "../storage/private-fs.js";
import type { Actor } from "./actor.js";
import { senderKey } from "./allow-list.js";

/** The workspace folder received files live under. */
export const MEDIA_DIR = "media";

/**
 * The folder name of one sender: their sender key (WhatsApp digits, a lower-case address) with every
 * character outside [A-Za-z0-9@._+-] percent-encoded, and a leading dot too, so it is one plain path
 * segment that no two senders share.
 */
export function senderFolderName(channel: ChannelName, senderId: string): string {
  const encoded = [...senderKey(channel, senderId)]
    .map((char) =>
      /^[A-Za-z0-9@._+-]$/.test(char)
        ? char
        : [...Buffer.from(char)]
            .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`)
            .join(""),
    )
    .join("");
  return encoded.startsWith(".") ? `%2E${encoded.slice(1)}` : encoded || "%00";
}

/** The sender's own folder: workspace/media/<channel>/<sender>. */
export function senderMediaDir(workspace: string, channel: ChannelName, senderId: string): string {
  return path.join(workspace, MEDIA_DIR, channel, senderFolderName(channel, senderId));
}

/**
 * Moves a file a channel just saved directly in media/<channel>/ into its sender's folder (created 0700; the
 * file keeps its 0600 mode) and returns the new path. Throws, moving nothing, for a file anywhere else.
 */
export function fileUnderSender(
  workspace: string,
  channel: ChannelName,
  senderId: string,
  savedPath: string,
): string {
  const channelDir = fs.realpathSync(path.join(workspace, MEDIA_DIR, channel));
  const saved = fs.realpathSync(savedPath);
  if (path.dirname(saved) !== channelDir || !fs.lstatSync(saved).isFile()) {
    throw new Error(`the received file is not a file directly in ${path.join(MEDIA_DIR, channel)}`);
  }
  const folder = senderMediaDir(workspace, channel, senderId);
  ensurePrivateDir(folder);
  const target = path.join(folder, path.basename(saved));
  fs.renameSync(saved, target);
  return target;
}

/**
 * True when this actor may read the workspace path whose segments are `parts` (parts[0] is "media"): owners
 * always; anyone else only inside media/<channel>/<sender>/ of one of their own identities.
 */
export function mayReadReceived(actor: Actor, parts: readonly string[]): boolean {
  if (actor.grants === "*") return true;
  const [, channel, folder] = parts;
  if (parts.length < 3 || !channel || !folder) return false;
  return (actor.identities ?? []).some((identity) => {
    const colon = identity.indexOf(":");
    const own = identity.slice(0, colon) as ChannelName;
    return own === channel && senderFolderName(own, identity.slice(colon + 1)) === folder;
  });
}
