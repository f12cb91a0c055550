// Doctor's email check: whether the email channel believes a mail's sender only on proof. Off is high; on
// but with no mail proven yet is a hint with the fix, read from the state file the running adapter keeps
// (channels/email-auth-state.ts), so doctor needs no connection to the mailbox.
import { emailAuthStateFile, readEmailAuthState } from "../channels/email-auth-state.js";
import type { MedbotPaths } from "../config/paths.js";
import type { MedbotConfig } from "../config/schema.js";
import type { Finding } from "./doctor.js";

/** What the owner can do so that mail of their household can be proven; README "Email" says more. */
export const EMAIL_PROOF_FIX =
  "Have each sender's mail provider sign outgoing mail with DKIM for the From domain and publish a DMARC record " +
  "(big providers do; a self-hosted sender can sign with OpenDKIM or rspamd). If your receiving server checks mail " +
  "and writes Authentication-Results above its Received header, set channels.email.authservId to its authserv-id.";

/** email.auth: requireAuthentication off (high), or no mail proven yet (info, with the fix). */
export function checkEmailAuthentication(config: MedbotConfig, paths: MedbotPaths): Finding[] {
  const email = config.channels.email;
  if (!email.enabled) return [];
  if (!email.requireAuthentication) {
    return [
      {
        id: "email.auth.off",
        severity: "high",
        what: "channels.email.requireAuthentication is false.",
        why: "Anyone can write an allowed family member's address into From: medbot then takes a stranger's mail as theirs, and it can change records or plant reminders.",
        fix: `Set channels.email.requireAuthentication to true. ${EMAIL_PROOF_FIX}`,
        fixable: false,
      },
    ];
  }
  const file = emailAuthStateFile(paths.home);
  const state = readEmailAuthState(file);
  if (state.lastProvenAt) return [];
  const lastRefusal = state.lastUnprovenReason
    ? ` The last mail refused for it (${state.lastUnprovenAt}): ${state.lastUnprovenReason}.`
    : "";
  return [
    {
      id: "email.auth.unverified",
      severity: "info",
      what: `No mail in the mailbox has been proven to come from its sender's domain yet.${lastRefusal}`,
      why: "medbot refuses mail whose From domain is not proven by DKIM/DMARC or by your server's own Authentication-Results, so until one is proven, family members' mail may be refused.",
      fix: EMAIL_PROOF_FIX,
      fixable: false,
      paths: [file],
    },
  ];
}
