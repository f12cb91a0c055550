// The access gate: the gateway asks it about every inbound message before any side effect.
// Order: the channel is enabled; in a group, the group is listed and the bot mentioned; the sender is in
// allowFrom or, while the channel's dmPolicy is "pairing", approved by pairing (switching back to
// "allowlist" means exactly allowFrom again). An unknown sender in a direct chat there gets a code.
// Each refusal (also one an adapter decided first, through recordRefusal: an email sender whose domain
// does not prove the mail) is audited (sender id, channel, reason; never content) at most once per sender per
// DENIED_AUDIT_INTERVAL_MS, so a flood cannot grow the log without bound. Group messages that do not
// mention the bot are ignored without an entry: they were not addressed to medbot.

import { appendAudit } from "../audit/audit-log.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import { listedGroups, listedInAllowFrom, senderKey } from "./allow-list.js";
import type { AccessDecision, AccessGate, SenderQuestion } from "./gate-contract.js";
import { type PairingRequest, PairingStore } from "./pairing.js";
import { actorFor } from "./people.js";

export const DENIED_AUDIT_INTERVAL_MS = 60_000;
/** Above this many remembered senders, entries older than the interval are dropped. */
const REMEMBERED_SENDERS = 10_000;

type Verdict = { allowed: true } | { allowed: false; reason: string; quiet?: boolean; pairable?: boolean };

/** The decision without writing anything: for the gateway's check before downloads or typing indicators. */
export function isAllowedSender(config: MedbotConfig, db: Db, message: SenderQuestion): boolean {
  return verdictFor(config, new PairingStore(db), message).allowed;
}

/**
 * The gate for one running gateway; `clock` drives code expiry and the audit rate limit, `logger` tells the
 * owner when a pending pairing code was dropped for a newer sender.
 */
export function createAccessGate(
  config: MedbotConfig,
  db: Db,
  clock: () => Date = () => new Date(),
  logger?: Pick<Logger, "warn">,
): AccessGate {
  const warnDropped = (dropped: PairingRequest) =>
    logger?.warn(
      { channel: dropped.channel, sender: dropped.senderId },
      "pairing: the oldest pending code was dropped for a newer sender; if that sender is family, ask them to write again (medbot pairing list)",
    );
  const pairing = new PairingStore(db, clock, warnDropped);
  const lastAudited = new Map<string, number>();

  const auditDenied = (message: SenderQuestion, reason: string): void => {
    const now = clock().getTime();
    const key = `${message.channel}:${senderKey(message.channel, message.senderId)}`;
    const last = lastAudited.get(key);
    if (last !== undefined && now - last < DENIED_AUDIT_INTERVAL_MS) return;
    if (lastAudited.size >= REMEMBERED_SENDERS) {
      for (const [sender, at] of lastAudited)
        if (now - at >= DENIED_AUDIT_INTERVAL_MS) lastAudited.delete(sender);
    }
    lastAudited.set(key, now);
    const unknown = { person: "unknown", channel: message.channel, grants: [] };
    appendAudit(
      db,
      unknown,
      {
        action: "access.denied",
        entity: "sender",
        entityId: message.senderId,
        note: `${message.channel}: ${reason}`,
      },
      clock,
    );
  };

  return {
    recordRefusal(message, reason): void {
      auditDenied(message, reason);
    },
    check(message): AccessDecision {
      const verdict = verdictFor(config, pairing, message);
      if (verdict.allowed) {
        return { allowed: true, actor: actorFor(config, message.channel, message.senderId) };
      }
      let decision: AccessDecision = { allowed: false, reason: verdict.reason };
      if (verdict.pairable) {
        const code = pairing.codeFor(message.channel, message.senderId);
        const retryAt = code ? undefined : pairing.retryAt(message.channel, message.senderId);
        decision = code
          ? {
              allowed: false,
              reason: "unknown sender; pairing code sent",
              reply: `To use medbot, ask the owner to run: medbot pairing approve ${code}`,
            }
          : {
              allowed: false,
              reason: "unknown sender; pairing code dropped, new one rate-limited",
              reply: `Your pairing code was replaced by newer requests. Write again after ${retryAt} for a new one.`,
            };
      }
      if (!verdict.quiet) auditDenied(message, decision.reason);
      return decision;
    },
    actorNow(message) {
      if (!verdictFor(config, pairing, message).allowed) return undefined;
      return actorFor(config, message.channel, message.senderId);
    },
  };
}

function verdictFor(config: MedbotConfig, approvals: PairingStore, message: SenderQuestion): Verdict {
  const settings = config.channels[message.channel];
  if (!settings.enabled) return { allowed: false, reason: "channel is not enabled" };
  if (message.isGroup) {
    if (!message.mentioned)
      return { allowed: false, reason: "group message not addressed to the bot", quiet: true };
    if (!listedGroups(config, message.channel).includes(message.chatId)) {
      return { allowed: false, reason: `group ${message.chatId} is not listed in groups` };
    }
  }
  if (listedInAllowFrom(config, message.channel, message.senderId)) return { allowed: true };
  const pairing = settings.dmPolicy === "pairing";
  if (pairing && approvals.isApproved(message.channel, message.senderId)) return { allowed: true };
  return { allowed: false, reason: "sender not in allowFrom", pairable: pairing && !message.isGroup };
}
