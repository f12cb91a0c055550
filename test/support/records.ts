// Archive records for tests, every field filled so a test names only what it is about.
import type { MedicationFields } from "../../src/archive/entries.js";

/** An active medication taken by mouth since 2026-01-01, no dose or times unless given. */
export function medicationFields(fields: Partial<MedicationFields> & { name: string }): MedicationFields {
  return {
    dose: null,
    route: "oral",
    frequency: null,
    timesOfDay: [],
    timezone: null,
    startDate: "2026-01-01",
    stopDate: null,
    reason: null,
    state: "active",
    ...fields,
  };
}
