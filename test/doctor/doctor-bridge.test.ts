// Doctor's check of the WhatsApp bridge's socket place: silent while it is private, high when the socket
// folder is loose (--fix tightens it) or the socket is a symlink or belongs to someone else.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bridgeSocketPath } from "../../src/bridge-protocol/socket.js";
import { resolvePaths } from "../../src/config/paths.js";
import { runDoctor } from "../../src/doctor/doctor.js";
import { checkBridgeSocket } from "../../src/doctor/doctor-bridge.js";
import { writePrivateFile } from "../../src/storage/private-fs.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "medbot-doctor-bridge-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const uid = process.getuid?.();

/** A data folder whose bridge is listening on its socket, as a running gateway leaves it. */
async function deploymentWithBridge(name: string) {
  const paths = resolvePaths({ configPath: path.join(scratch, name, "config.json") });
  writePrivateFile(paths.configFile, "{}");
  const socketPath = bridgeSocketPath(paths.home);
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  const bridge = net.createServer();
  await new Promise<void>((resolve) => bridge.listen(socketPath, resolve));
  fs.chmodSync(socketPath, 0o600);
  const close = () => new Promise<void>((resolve) => bridge.close(() => resolve()));
  return { paths, socketPath, close };
}

describe("doctor: the WhatsApp bridge socket", () => {
  it("is silent before the bridge ever ran, and while its socket is private", async () => {
    expect(
      checkBridgeSocket(resolvePaths({ configPath: path.join(scratch, "none", "config.json") }), uid),
    ).toEqual([]);
    const { paths, close } = await deploymentWithBridge("private");
    try {
      expect(checkBridgeSocket(paths, uid)).toEqual([]);
    } finally {
      await close();
    }
  });

  it("reports a loose socket folder as high, and --fix makes it private again", async () => {
    const { paths, socketPath, close } = await deploymentWithBridge("loose");
    const folder = path.dirname(socketPath);
    try {
      fs.chmodSync(folder, 0o777);
      const report = await runDoctor({ configPath: paths.configFile, uid, env: {} });
      const finding = report.findings.find((f) => f.id === "bridge.socket");
      expect(finding).toMatchObject({
        severity: "high",
        what: `The WhatsApp bridge's socket place is not private: ${folder} is 0777; it must be 0700 so no other user can put a socket there.`,
        fix: `Run chmod go-rwx ${folder} (or medbot doctor --fix).`,
        fixable: true,
        paths: [socketPath],
      });
      const fixed = await runDoctor({ configPath: paths.configFile, uid, env: {}, fix: true });
      expect(fixed.fixed.map((f) => f.path)).toContain(folder);
      expect(fixed.findings.filter((f) => f.id === "bridge.socket")).toEqual([]);
      expect(fs.statSync(folder).mode & 0o777).toBe(0o700);
    } finally {
      await close();
    }
  });

  it("reports a symlink at the socket path, which --fix cannot repair", async () => {
    const { paths, socketPath, close } = await deploymentWithBridge("symlink");
    await close();
    fs.symlinkSync(path.join(scratch, "elsewhere.sock"), socketPath);
    const [finding] = checkBridgeSocket(paths, uid);
    expect(finding).toMatchObject({ id: "bridge.socket", severity: "high", fixable: false });
    expect(finding?.what).toContain(`${socketPath} is a symbolic link`);
    expect(finding?.fix).toBe(`Remove ${socketPath} if you did not make it, and find out who did.`);
  });
});
