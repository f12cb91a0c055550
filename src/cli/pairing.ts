// `medbot pairing list | approve CODE | revoke SENDER`: the owner lets a sender who asked for a code in,
// or shuts an approved sender out again. Approvals and revocations are in the audit log.
import * as fs from "node:fs";
import type { Command } from "commander";
import { listedInAllowFrom } from "../access/allow-list.js";
import { PairingError, PairingStore } from "../access/pairing.js";
import type { LoadedConfig } from "../config/load.js";
import { openDatabase } from "../storage/db.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";
import { table } from "./table.js";

/** Registers `medbot pairing`. */
export function registerPairing(program: Command): void {
  const pairing = program
    .command("pairing")
    .description("approve or revoke senders who asked for access with a pairing code (dmPolicy: pairing)");

  pairing
    .command("list")
    .description("pending pairing codes (channel, sender id, code, expiry) and approved senders")
    .option("--json", "machine-readable output: { pending, approved }")
    .action((_options, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions & { json?: boolean }>();
      const { pending, approved } = withPairing(
        options,
        (store) => ({ pending: store.pending(), approved: store.approved() }),
        false,
      ) ?? { pending: [], approved: [] };
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ pending, approved }, null, 2)}\n`);
        return;
      }
      const codes =
        pending.length === 0
          ? "No pending pairing codes."
          : table([
              ["CHANNEL", "SENDER", "CODE", "EXPIRES (UTC)"],
              ...pending.map((p) => [p.channel, p.senderId, p.code, utcTime(p.expiresAt)]),
            ]);
      const senders =
        approved.length === 0
          ? "No approved senders."
          : `Approved senders (shut one out with: medbot pairing revoke SENDER):\n${table([
              ["SENDER", "APPROVED (UTC)"],
              ...approved.map((a) => [a.sender, utcTime(a.approvedAt)]),
            ])}`;
      process.stdout.write(`${codes}\n\n${senders}\n`);
    });

  pairing
    .command("approve")
    .description("let in the sender holding this code")
    .argument("<code>", "the code the sender was given")
    .action((code: string, _options, command: Command) => {
      const sender = withPairing(
        command.optsWithGlobals<GlobalOptions>(),
        (store) => store.approve(code),
        true,
      );
      process.stdout.write(`Approved ${sender.channel}:${sender.senderId}; they can talk to medbot now.\n`);
    });

  pairing
    .command("revoke")
    .description("shut out a sender approved by pairing")
    .argument("<sender>", "channel:id, e.g. telegram:123456")
    .action((sender: string, _options, command: Command) => {
      let stillListed = false;
      const revoked = withPairing(
        command.optsWithGlobals<GlobalOptions>(),
        (store, { config }) => {
          const done = store.revoke(sender);
          stillListed = listedInAllowFrom(config, done.channel, done.senderId);
          return done;
        },
        true,
      );
      const who = `${revoked.channel}:${revoked.senderId}`;
      process.stdout.write(`Revoked ${who}; their messages are refused from now on.\n`);
      if (stillListed) {
        process.stderr.write(
          `medbot: ${who} is still let in by channels.${revoked.channel}.allowFrom; remove it there too.\n`,
        );
      }
    });
}

/** Runs `work` on the instance's pairing store; PairingError becomes a one-line failure (exit 1). */
function withPairing<T>(
  options: GlobalOptions,
  work: (store: PairingStore, loaded: LoadedConfig) => T,
  required: true,
): T;
function withPairing<T>(
  options: GlobalOptions,
  work: (store: PairingStore, loaded: LoadedConfig) => T,
  required: false,
): T | undefined;
function withPairing<T>(
  options: GlobalOptions,
  work: (store: PairingStore, loaded: LoadedConfig) => T,
  required: boolean,
): T | undefined {
  const loaded = openInstance(options);
  if (!fs.existsSync(loaded.paths.database)) {
    if (!required) return undefined;
    throw new CliFailure(`No medbot database yet at ${loaded.paths.database}, so no pairing codes either.`);
  }
  const db = openDatabase(loaded.paths.database, { auditSigningKey: loaded.paths.auditSigningKey });
  try {
    return work(new PairingStore(db), loaded);
  } catch (error) {
    if (error instanceof PairingError) throw new CliFailure(error.message);
    throw error;
  } finally {
    db.close();
  }
}

/** "2026-12-03 17:15:27Z" from an ISO time. */
function utcTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}
