// drug_interaction_check: looks 2 to 5 drugs up in DDInter. Only drug names are sent; a member's
// medications and drug allergies are added to the reply from the archive, never sent anywhere.
import { z } from "zod";
import type { Actor } from "../../access/actor.js";
import type { FamilyArchive } from "../../archive/archive.js";
import { checkInteractions, type PairResult, type Severity } from "../../archive/drug-interactions.js";
import { configSchema } from "../../config/schema.js";
import { defineTool } from "./tool.js";

/** Every reply ends with this, whatever DDInter said. */
export const SAFETY_NOTE =
  "No interaction found is not proof of safety: confirm with a pharmacist or doctor, and never stop a prescribed medicine on your own.";

const MEANING: Record<Severity, string> = {
  Major: "may be life-threatening or need medical treatment; the combination is usually avoided.",
  Moderate: "may worsen a condition or need a change of treatment or closer monitoring.",
  Minor: "usually a limited effect; may need monitoring.",
  Unknown: "DDInter lists an interaction without rating its severity.",
};

const DEFAULTS = configSchema.parse({}).tools.drugInteractions;

const parameters = z.object({
  drugs: z.array(z.string().trim().min(1).max(100)).min(2).max(5).describe("generic names"),
  member: z.string().optional().describe("also list their medications and drug allergies"),
});

export const drugInteractionCheck = defineTool({
  name: "drug_interaction_check",
  description: "Look up interactions between 2-5 drugs in DDInter (online).",
  parameters,
  async run({ drugs, member }, { archive, actor, config, signal }) {
    // The member is resolved first, so a name they may not see fails before anything is sent.
    const memberLines = member === undefined ? [] : memberContext(archive, actor, member);
    const settings = config?.tools.drugInteractions ?? DEFAULTS;
    const lines: string[] = [];
    if (!settings.enabled) {
      lines.push(
        "Could not check: DDInter lookups are switched off (config tools.drugInteractions.enabled).",
      );
    } else {
      const results = await checkInteractions(archive.db, drugs, {
        baseUrl: settings.baseUrl,
        timeoutMs: settings.timeoutS * 1000,
        cacheDays: settings.cacheDays,
        clock: archive.clock,
        signal,
      });
      lines.push(...describeResults(results));
    }
    return [...lines, ...memberLines, SAFETY_NOTE].join("\n");
  },
});

function describeResults(results: PairResult[]): string[] {
  const unchecked = results.filter(
    (r) => r.answer.kind === "unavailable" || r.answer.kind === "unknown_drug",
  );
  const lines = ["DDInter drug interaction check:", ...results.map(describePair)];
  if (unchecked.length > 0) {
    lines.unshift(
      `Could not check ${unchecked.length} of ${results.length} pairs; for those this is not a "no interaction" answer.`,
    );
  } else if (results.every((r) => r.answer.kind === "none")) {
    lines.push("DDInter lists no interaction between these drugs.");
  }
  return lines;
}

function describePair({ drugs: [a, b], answer }: PairResult): string {
  switch (answer.kind) {
    case "interaction": {
      const how = answer.mechanisms.length
        ? ` Mechanism: ${answer.mechanisms.join(", ").toLowerCase()}.`
        : "";
      return `- ${a} + ${b}: ${answer.severity} interaction: ${MEANING[answer.severity]}${how}`;
    }
    case "none":
      return `- ${a} + ${b}: no interaction listed.`;
    case "unknown_drug": {
      const hint = answer.suggestions.length ? ` (DDInter has: ${answer.suggestions.join(", ")})` : "";
      return `- ${a} + ${b}: could not check: "${answer.drug}" is not in DDInter${hint}.`;
    }
    case "unavailable":
      return `- ${a} + ${b}: could not check: ${answer.reason}.`;
  }
}

/** The member's active medications and drug allergies, for the model to weigh (never sent to DDInter). */
function memberContext(archive: FamilyArchive, actor: Actor, ref: string): string[] {
  const member = archive.member(actor, ref);
  const medications = archive
    .current(actor, member.id, "medications")
    .filter((m) => m.state === "active")
    .map((m) => [m.name, m.dose, m.frequency].filter(Boolean).join(" "));
  const allergies = archive
    .current(actor, member.id, "facts")
    .filter((f) => f.category === "drug_allergy")
    .map((f) => (f.details ? `${f.text} (${f.details})` : f.text));
  return [
    `${member.displayName}'s active medications: ${medications.join("; ") || "none recorded"}.`,
    `${member.displayName}'s drug allergies: ${allergies.join("; ") || "none recorded"}.`,
  ];
}
