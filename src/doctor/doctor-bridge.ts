// Doctor's check of where the gateway meets the WhatsApp bridge: the socket's folders and the socket must be
// our own and private, or the gateway refuses the bridge (and another user could have planted a socket).
import { BridgeSocketError, inspectBridgeSocket } from "../bridge-protocol/socket.js";
import { bridgeFolders } from "../channels/whatsapp-bridge-process.js";
import type { MedbotPaths } from "../config/paths.js";
import type { Finding } from "./doctor.js";

/** bridge.socket: run/whatsapp (and run) 0700 and ours, the socket ours, 0600, no symlinks. Silent when absent. */
export function checkBridgeSocket(paths: MedbotPaths, uid: number | undefined): Finding[] {
  const { socketPath } = bridgeFolders(paths.home, paths.workspace);
  try {
    inspectBridgeSocket(socketPath, uid);
    return [];
  } catch (error) {
    if (!(error instanceof BridgeSocketError)) throw error;
    const [what, fix] = splitFix(error.message);
    return [
      {
        id: "bridge.socket",
        severity: "high",
        what: `The WhatsApp bridge's socket place is not private: ${what}.`,
        why: "The gateway sends the bridge token and the family's messages only over a socket in a folder no other user can reach; it refuses this one, so WhatsApp stays down, and another user could have put a socket of theirs there.",
        fix: `${fix.charAt(0).toUpperCase()}${fix.slice(1)}.`,
        fixable: /chmod go-rwx/.test(fix),
        paths: [socketPath],
      },
    ];
  }
}

/** "what; fix" as BridgeSocketError words it. */
function splitFix(message: string): [string, string] {
  const at = message.lastIndexOf("; ");
  return at < 0 ? [message, "see SECURITY.md"] : [message.slice(0, at), message.slice(at + 2)];
}
