// Where the gateway and the WhatsApp bridge meet: a Unix domain socket in a 0700 folder of the data folder,
// which no other user can reach. Both sides judge the place with these checks before trusting it: the bridge
// before it listens (removing only a socket nobody listens on), the gateway before it sends the token, and
// `medbot doctor`. A TCP port could be taken first by any local process; this folder only by our own user.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ensurePrivateDir, formatMode } from "../storage/private-fs.js";

const SOCKET_NAME = "bridge.sock";
/** sun_path holds 108 bytes on Linux (104 on macOS) including the final NUL. */
export const MAX_SOCKET_PATH_BYTES = 103;
/** In a sticky folder (like /tmp) only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

/** The bridge socket of one instance: dataDir/run/whatsapp/bridge.sock. */
export function bridgeSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), "run", "whatsapp", SOCKET_NAME);
}

/** A bridge socket that must not be trusted (or used): says what is wrong and what to do. */
export class BridgeSocketError extends Error {
  override readonly name = "BridgeSocketError";
}

/** What is at the socket path once its folders passed: nothing yet, or a socket of ours. */
export type SocketPlace = "absent" | "socket";

/**
 * Checks that no other user may write the data folder; that the socket's folder and the one above it
 * (run/whatsapp and run) are ours, private and no symlinks; and that the socket is a socket (not a
 * symlink), ours, with no group or other bits. Throws BridgeSocketError naming the first fault. A missing
 * folder or socket is "absent": nothing to trust yet.
 */
export function inspectBridgeSocket(socketPath: string, uid = process.getuid?.()): SocketPlace {
  const folder = path.dirname(socketPath);
  // Whoever may write the folder above run/ could swap run/ for theirs between this check and the connect.
  const above = path.dirname(path.dirname(folder));
  const aboveStat = statOrUndefined(above);
  if (aboveStat && (aboveStat.mode & 0o022) !== 0 && (aboveStat.mode & STICKY) === 0) {
    throw refusal(
      `${above} is ${formatMode(aboveStat.mode)}: other users may replace the folders in it`,
      above,
      "mode",
    );
  }
  for (const dir of [path.dirname(folder), folder]) {
    const stat = lstatOrUndefined(dir);
    if (!stat) return "absent";
    if (stat.isSymbolicLink()) throw refusal(`${dir} is a symbolic link, not medbot's own folder`, dir);
    if (!stat.isDirectory()) throw refusal(`${dir} is not a folder`, dir);
    checkOwner(dir, stat, uid);
    if ((stat.mode & 0o077) !== 0) {
      throw refusal(
        `${dir} is ${formatMode(stat.mode)}; it must be 0700 so no other user can put a socket there`,
        dir,
        "mode",
      );
    }
  }
  const stat = lstatOrUndefined(socketPath);
  if (!stat) return "absent";
  if (stat.isSymbolicLink())
    throw refusal(`${socketPath} is a symbolic link, not the bridge's socket`, socketPath);
  if (!stat.isSocket()) throw refusal(`${socketPath} is not a socket`, socketPath);
  checkOwner(socketPath, stat, uid);
  if ((stat.mode & 0o077) !== 0) {
    throw refusal(`${socketPath} is ${formatMode(stat.mode)}; it must be 0600`, socketPath, "mode");
  }
  return "socket";
}

/**
 * Whether a process accepts connections on the socket: "stale" only when the connection is refused (a dead
 * bridge's file); any other failure counts as "listening", so a live socket is never taken for stale.
 */
export function probeSocket(socketPath: string): Promise<"listening" | "stale" | "absent"> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    socket.once("connect", () => {
      socket.destroy();
      resolve("listening");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") resolve("absent");
      else resolve(error.code === "ECONNREFUSED" ? "stale" : "listening");
    });
  });
}

/**
 * Makes the socket path ready for the bridge to listen on: creates the folders 0700, checks them, and
 * removes a socket file nobody listens on. Throws BridgeSocketError when something else holds the path.
 */
export async function claimBridgeSocket(
  socketPath: string,
  uid = process.getuid?.(),
): Promise<"fresh" | "stale removed"> {
  if (!path.isAbsolute(socketPath))
    throw new BridgeSocketError(`the bridge socket path ${socketPath} is not absolute`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new BridgeSocketError(
      `the bridge socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, too long for a Unix socket; use a shorter data folder (MEDBOT_HOME)`,
    );
  }
  ensurePrivateDir(path.dirname(socketPath));
  if (inspectBridgeSocket(socketPath, uid) === "absent") return "fresh";
  const probe = await probeSocket(socketPath);
  if (probe === "listening") {
    throw new BridgeSocketError(
      `another process already listens on ${socketPath} (a bridge that is still running, or medbot gateway with WhatsApp); stop it first`,
    );
  }
  if (probe === "stale") fs.rmSync(socketPath, { force: true });
  return probe === "stale" ? "stale removed" : "fresh";
}

function checkOwner(file: string, stat: fs.Stats, uid: number | undefined): void {
  if (uid !== undefined && stat.uid !== uid) {
    throw refusal(`${file} belongs to uid ${stat.uid}, not to the user running medbot (uid ${uid})`, file);
  }
}

/** What the user does about a fault: tighten the modes, or remove what is not ours. */
function refusal(what: string, file: string, kind: "mode" | "foreign" = "foreign"): BridgeSocketError {
  const fix =
    kind === "mode"
      ? `run chmod go-rwx ${file} (or medbot doctor --fix)`
      : `remove ${file} if you did not make it, and find out who did`;
  return new BridgeSocketError(`${what}; ${fix}`);
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  return orUndefinedIfMissing(() => fs.lstatSync(file));
}

/** The data folder may be a symlink to where the user keeps it; its target is judged. */
function statOrUndefined(file: string): fs.Stats | undefined {
  return orUndefinedIfMissing(() => fs.statSync(file));
}

function orUndefinedIfMissing(read: () => fs.Stats): fs.Stats | undefined {
  try {
    return read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
