// The access gate's contract: what the gateway asks about every inbound message and what it gets back.
// Declared here, in the room that implements it (gate.ts), so channels and the gateway, both above, import
// it from access/ and the imports run one way.
import type { ChannelName } from "../config/schema.js";
import type { Actor } from "./actor.js";

/** The sender fields every access question and refusal is about (an inbound message has them all). */
export interface SenderQuestion {
  channel: ChannelName;
  chatId: string;
  senderId: string;
  isGroup: boolean;
  /** In a group: the bot was mentioned or replied to. */
  mentioned: boolean;
}

/** What the access gate decided for a sender, before any side effect. */
export type AccessDecision =
  | { allowed: true; actor: Actor }
  /** `reply`: the only thing a refused sender may get (a pairing code), or nothing. */
  | { allowed: false; reason: string; reply?: string };

/** Decides who gets in; implemented in gate.ts, called by the gateway for every inbound message. */
export interface AccessGate {
  check(message: SenderQuestion): AccessDecision;
  /**
   * Who the sender acts as now (today's allow-list, pairing approvals and grants), or undefined once they
   * may no longer talk to medbot; writes nothing. Asked again when a stored message's turn runs.
   */
  actorNow(message: SenderQuestion): Actor | undefined;
  /** Records (audits) a refusal decided before the gate was asked, such as an unproven email sender. */
  recordRefusal(message: SenderQuestion, reason: string): void;
}
