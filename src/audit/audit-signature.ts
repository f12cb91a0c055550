// The audit head's signature (config audit.signHead): an Ed25519 key kept in the data folder, outside the
// workspace, signs every head medbot writes. Someone who can rewrite the database and the head file but cannot
// read the key (a process confined to the workspace) can no longer forge a consistent head; the same user,
// who can read the key, still can.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writePrivateFileOnce } from "../storage/private-fs.js";

/** The key's file name in the data folder. */
export const AUDIT_SIGNING_KEY_FILE = "audit-signing.key";

/** What a signed head carries beside seq, hash and at. */
export interface HeadSignature {
  /** The public key's fingerprint (sha256 of its SPKI DER, hex). */
  key: string;
  /** Ed25519 signature over seq, hash and at (base64). */
  signature: string;
}

/** The head fields the signature covers. */
interface SignedFields {
  seq: number;
  hash: string;
  at: string;
}

/** The bytes signed: a fixed label, so no other medbot signature can be passed off as a head's. */
function signedBytes(head: SignedFields): Buffer {
  return Buffer.from(JSON.stringify(["medbot-audit-head-v1", head.seq, head.hash, head.at]));
}

/** The key in `file`; undefined when there is none; throws naming the file (never its content) otherwise. */
export function loadSigningKey(file: string): KeyObject | undefined {
  let pem: string;
  try {
    pem = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(
      `the audit signing key ${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(pem);
  } catch {
    key = undefined;
  }
  if (key?.asymmetricKeyType !== "ed25519") throw new Error(`${file} is not an Ed25519 private key`);
  return key;
}

/**
 * Creates the key pair in `file` (0600) and returns the key; if another process created it first, returns
 * that one, so both sign with the same key.
 */
export function createSigningKey(file: string): KeyObject {
  const { privateKey } = generateKeyPairSync("ed25519");
  writePrivateFileOnce(file, privateKey.export({ type: "pkcs8", format: "pem" }));
  const key = loadSigningKey(file);
  if (!key) throw new Error(`the audit signing key ${file} vanished as it was created`);
  return key;
}

/** The fingerprint of a key's public half, as heads carry it and doctor may show it. */
export function keyFingerprint(key: KeyObject): string {
  const der = createPublicKey(key).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

/** The signature fields of `head`, signed with `key`. */
export function signHead(head: SignedFields, key: KeyObject): HeadSignature {
  return { key: keyFingerprint(key), signature: sign(null, signedBytes(head), key).toString("base64") };
}

/** What is wrong with the signature of `head` under `key`; undefined when it is valid. */
export function headSignatureProblem(
  head: SignedFields & Partial<HeadSignature>,
  key: KeyObject,
  headFile: string,
): string | undefined {
  const name = path.basename(headFile);
  if (head.signature === undefined || head.key === undefined)
    return `the head file ${name} is not signed although audit.signHead is on: it may have been rewritten`;
  const own = keyFingerprint(key);
  if (head.key !== own)
    return `the head file ${name} is signed by another key (${head.key.slice(0, 16)}…, not this data folder's ${own.slice(0, 16)}…): it was rewritten`;
  const valid = verify(null, signedBytes(head), createPublicKey(key), Buffer.from(head.signature, "base64"));
  return valid ? undefined : `the head file ${name} does not match its signature: it was edited`;
}

/** The problems of a head under the key in `keyFile` (audit.signHead on): a missing key, a bad signature. */
export function checkHeadSignature(
  head: SignedFields & Partial<HeadSignature>,
  keyFile: string,
  headFile: string,
): string[] {
  let key: KeyObject | undefined;
  try {
    key = loadSigningKey(keyFile);
  } catch (error) {
    return [(error as Error).message];
  }
  if (!key && head.signature === undefined)
    return [
      `the audit signing key ${keyFile} is missing although audit.signHead is on, and the head is not signed: the next medbot command that opens the archive (medbot audit --verify) makes the key and signs the head as it stands, unless the key was removed`,
    ];
  if (!key)
    return [
      `the audit signing key ${keyFile} is missing although audit.signHead is on: the head file's signature cannot be checked`,
    ];
  const problem = headSignatureProblem(head, key, headFile);
  return problem ? [problem] : [];
}
