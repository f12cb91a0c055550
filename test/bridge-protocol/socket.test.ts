// Where the gateway meets the bridge: the bridge claims its socket only where nothing else holds it (a dead
// bridge's socket is cleared, a live one, a symlink, a file, a loose or foreign folder are refused), and the
// checks the gateway runs before sending its token say what is wrong with a planted socket.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SavedMedia } from "../../bridge/src/media.js";
import { BridgeServer, type SessionPort } from "../../bridge/src/server.js";
import type { ConnectionState } from "../../src/bridge-protocol/protocol.js";
import {
  BridgeSocketError,
  bridgeSocketPath,
  claimBridgeSocket,
  inspectBridgeSocket,
  probeSocket,
} from "../../src/bridge-protocol/socket.js";
import { silentLogger } from "../../src/log.js";

const isRoot = process.getuid?.() === 0;
/** An account that is not ours (nobody), for the ownership checks when the tests may chown. */
const OTHER_UID = 65534;

const idleSession: SessionPort = {
  state: (): ConnectionState => "closed",
  send: async () => undefined,
  download: async (): Promise<SavedMedia> => {
    throw new Error("no media");
  },
};

/** A 0600 socket of ours something listens on, at `file`; resolves to the server to close. */
async function listenAt(file: string): Promise<net.Server> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(file, resolve));
  fs.chmodSync(file, 0o600);
  return server;
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A socket file nobody listens on, as a bridge killed with SIGKILL leaves it. */
async function staleSocketAt(file: string): Promise<void> {
  const live = await listenAt(file);
  // Closing a server removes its socket file; a second link to it survives the close.
  const keep = `${file}.keep`;
  fs.linkSync(file, keep);
  await close(live);
  fs.renameSync(keep, file);
}

describe("the bridge claims its socket", () => {
  let root: string;
  let socketPath: string;
  let server: BridgeServer | undefined;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bridge-socket-"));
    socketPath = bridgeSocketPath(root);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  function bridge(): BridgeServer {
    server = new BridgeServer({ token: "tok", socketPath, session: idleSession, logger: silentLogger() });
    return server;
  }

  it("lives at dataDir/run/whatsapp/bridge.sock", () => {
    expect(bridgeSocketPath("/srv/medbot")).toBe("/srv/medbot/run/whatsapp/bridge.sock");
  });

  it("removes the socket a dead bridge left behind, then listens", async () => {
    await staleSocketAt(socketPath);
    expect(await probeSocket(socketPath)).toBe("stale");
    await bridge().listen();
    expect(await probeSocket(socketPath)).toBe("listening");
  });

  it("refuses to start where another process listens, and leaves that socket alone", async () => {
    const other = await listenAt(socketPath);
    try {
      await expect(bridge().listen()).rejects.toThrow(
        new RegExp(`another process already listens on ${socketPath}.*stop it first`),
      );
      server = undefined;
      expect(await probeSocket(socketPath)).toBe("listening");
    } finally {
      await close(other);
    }
  });

  it("refuses a symlink or a file at the socket path, naming it, and leaves it", async () => {
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    const elsewhere = path.join(root, "elsewhere.sock");
    const squatter = await listenAt(elsewhere);
    try {
      fs.symlinkSync(elsewhere, socketPath);
      await expect(claimBridgeSocket(socketPath)).rejects.toThrow(
        `${socketPath} is a symbolic link, not the bridge's socket; remove ${socketPath} if you did not make it`,
      );
      expect(fs.lstatSync(socketPath).isSymbolicLink()).toBe(true);
      fs.rmSync(socketPath);
      fs.writeFileSync(socketPath, "not a socket", { mode: 0o600 });
      await expect(bridge().listen()).rejects.toThrow(`${socketPath} is not a socket`);
      server = undefined;
      expect(fs.readFileSync(socketPath, "utf8")).toBe("not a socket");
    } finally {
      await close(squatter);
    }
  });

  it("refuses a socket folder others can write, or one that is a symlink", async () => {
    const folder = path.dirname(socketPath);
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    fs.chmodSync(folder, 0o777);
    await expect(claimBridgeSocket(socketPath)).rejects.toThrow(
      `${folder} is 0777; it must be 0700 so no other user can put a socket there; run chmod go-rwx ${folder}`,
    );
    fs.rmSync(folder, { recursive: true });
    const planted = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-planted-"));
    try {
      fs.symlinkSync(planted, folder);
      await expect(claimBridgeSocket(socketPath)).rejects.toThrow(`${folder} is a symbolic link`);
    } finally {
      fs.rmSync(planted, { recursive: true, force: true });
    }
  });

  it("refuses a data folder others may write (they could swap run/), unless it is sticky", async () => {
    fs.chmodSync(root, 0o777);
    await expect(claimBridgeSocket(socketPath)).rejects.toThrow(
      `${root} is 0777: other users may replace the folders in it; run chmod go-rwx ${root}`,
    );
    fs.chmodSync(root, 0o1777);
    await expect(claimBridgeSocket(socketPath)).resolves.toBe("fresh");
    fs.chmodSync(root, 0o700);
  });

  it("refuses a socket path too long for a Unix socket, naming the fix", async () => {
    const deep = bridgeSocketPath(path.join(root, "d".repeat(120)));
    await expect(claimBridgeSocket(deep)).rejects.toThrow(
      /too long for a Unix socket; use a shorter data folder/,
    );
  });

  it.skipIf(!isRoot)("refuses a socket folder or a socket that belongs to another user", async () => {
    const folder = path.dirname(socketPath);
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    fs.chownSync(folder, OTHER_UID, OTHER_UID);
    await expect(claimBridgeSocket(socketPath)).rejects.toThrow(
      `${folder} belongs to uid ${OTHER_UID}, not to the user running medbot (uid 0)`,
    );
    fs.chownSync(folder, 0, 0);
    const squatter = await listenAt(socketPath);
    try {
      fs.chownSync(socketPath, OTHER_UID, OTHER_UID);
      expect(() => inspectBridgeSocket(socketPath)).toThrow(
        `${socketPath} belongs to uid ${OTHER_UID}, not to the user running medbot (uid 0)`,
      );
    } finally {
      await close(squatter);
    }
  });
});

describe("the checks before the token is sent", () => {
  let root: string;
  let socketPath: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-bridge-inspect-"));
    socketPath = bridgeSocketPath(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("finds nothing to trust before the bridge made its place", () => {
    expect(inspectBridgeSocket(socketPath)).toBe("absent");
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    expect(inspectBridgeSocket(socketPath)).toBe("absent");
  });

  it("accepts our own 0600 socket in our own 0700 folders", async () => {
    const live = await listenAt(socketPath);
    try {
      expect(inspectBridgeSocket(socketPath)).toBe("socket");
      fs.chmodSync(socketPath, 0o666);
      expect(() => inspectBridgeSocket(socketPath)).toThrow(`${socketPath} is 0666; it must be 0600`);
    } finally {
      await close(live);
    }
  });

  it("judges ownership against the uid it is given", async () => {
    const live = await listenAt(socketPath);
    try {
      const ours = fs.lstatSync(socketPath).uid;
      expect(() => inspectBridgeSocket(socketPath, ours + 1)).toThrow(BridgeSocketError);
      expect(() => inspectBridgeSocket(socketPath, ours + 1)).toThrow(/run belongs to uid/);
    } finally {
      await close(live);
    }
  });
});
