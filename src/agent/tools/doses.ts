// record_dose: a dose of a member's medication taken, missed or skipped, checked against the person's grants.
import { z } from "zod";
import {
  adherenceOf,
  adherenceText,
  DOSE_OUTCOMES,
  medicationZone,
  recordDose,
} from "../../archive/doses.js";
import { formatLocalTime } from "../../archive/metrics.js";
import { defineTool } from "./tool.js";

export const recordDoseTool = defineTool({
  name: "record_dose",
  description:
    "Record a medication dose taken, missed or skipped. medication: name or id; at: when taken (default now); scheduled: the dose time it answers (08:00 or ISO).",
  parameters: z.object({
    member: z.string().min(1),
    medication: z.string().min(1),
    outcome: z.enum(DOSE_OUTCOMES),
    at: z.string().optional(),
    scheduled: z.string().optional(),
    note: z.string().optional(),
  }),
  run({ member: ref, ...input }, { archive, actor }) {
    const { member, medication, dose } = recordDose(archive, actor, ref, input);
    const zone = medicationZone(medication, member);
    const when = [
      dose.scheduledAt && `${formatLocalTime(dose.scheduledAt, zone)} dose`,
      dose.takenAt && `taken ${formatLocalTime(dose.takenAt, zone)}`,
    ].filter(Boolean);
    const adherence = adherenceText(adherenceOf(archive.db, member, medication.id, archive.clock()));
    return `Recorded for ${member.displayName}: ${medication.name} ${dose.outcome}${when.length ? ` (${when.join(", ")}, ${zone})` : ""}; dose #${dose.id}.${adherence ? ` Adherence: ${adherence}.` : ""}`;
  },
});
