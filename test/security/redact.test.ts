// What the model provider may not see: phone numbers, email addresses, ID and insurance numbers are masked;
// what it needs to help stays: readings, doses, dates, times, record ids.
import { describe, expect, it } from "vitest";
import { findIdentifiers, redactIdentifiers, replaceIdentifiers } from "../../src/security/redact.js";

const masked: [string, string, string][] = [
  // [what, input, expected]
  ["an email address", "write to ann.lee+gp@example.org today", "write to [email] today"],
  ["a Unicode email address", "邮箱 张伟@例子.中国", "邮箱 [email]"],
  ["a WhatsApp JID (its number too)", "chat 8613812345678@s.whatsapp.net", "chat [email]"],
  ["an international number", "call +49 30 1234567 after 6", "call [phone] after 6"],
  ["a compact international number", "+8613812345678", "[phone]"],
  ["a US number with country code", "Dr. Hale: +1 (555) 123-4567.", "Dr. Hale: [phone]."],
  ["a French mobile in pairs", "+33 6 12 34 56 78", "[phone]"],
  ["a 00-prefixed number", "0049 30 1234567", "[phone]"],
  ["a Chinese mobile", "我的手机13812345678，谢谢", "我的手机[phone]，谢谢"],
  ["a Chinese mobile in groups", "call 138 1234 5678 or 139-8765-4321", "call [phone] or [phone]"],
  ["a Chinese landline", "医院电话 010-12345678", "医院电话 [phone]"],
  ["a Chinese landline without label", "请拨打0755-1234567。", "请拨打[phone]。"],
  ["a German local number", "Praxis 030 1234567, Mo-Fr", "Praxis [phone], Mo-Fr"],
  ["a UK number", "ring 020 7946 0958.", "ring [phone]."],
  ["a French local number", "06 12 34 56 78", "[phone]"],
  ["a US number in dashes", "555-123-4567", "[phone]"],
  ["a US number in parentheses", "(555) 123-4567", "[phone]"],
  ["a US number in dots", "555.123.4567", "[phone]"],
  ["a labelled short number", "tel: 1234567", "tel: [phone]"],
  ["a labelled number in Chinese", "电话：8765 4321", "电话：[phone]"],
  ["a Chinese resident ID", "身份证 110101199003074512", "身份证 [id-number]"],
  ["a Chinese resident ID ending in X", "ID 11010119900307451X ok", "ID [id-number] ok"],
  ["a US SSN", "SSN 123-45-6789", "SSN [id-number]"],
  ["an unlabelled US SSN", "his number is 123-45-6789.", "his number is [id-number]."],
  ["a passport number", "passport no. E12345678", "passport no. [id-number]"],
  ["an NHS number", "NHS number 943 476 5919", "NHS number [id-number]"],
  ["an insurance number", "insurance no. AB-1234567", "insurance no. [insurance-number]"],
  [
    "a spaced insurance number",
    "Krankenversicherungsnummer: 1234 5678 90.",
    "Krankenversicherungsnummer: [insurance-number].",
  ],
  ["a policy number", "Policy: PX998877", "Policy: [insurance-number]"],
  ["a member id", "member ID W123456789", "member ID [insurance-number]"],
  ["a 医保 number", "医保卡号：1234567890123", "医保卡号：[insurance-number]"],
  ["a German insurance number", "Versichertennummer A123456789", "Versichertennummer [insurance-number]"],
  ["a US number in spaces", "call 555 123 4567 today", "call [phone] today"],
  ["a US number without separators", "ring 5551234567.", "ring [phone]."],
  ["a Chinese mobile in full-width digits", "我的手机１３８００１３８０００", "我的手机[phone]"],
  ["a full-width number in groups", "电话 ０１０-１２３４５６７８", "电话 [phone]"],
  ["a mobile split by U+200B", "138\u200b0013\u200b8000", "[phone]"],
  ["a mobile split by U+200C", "call 138\u200c1234\u200c5678 now", "call [phone] now"],
  ["a mobile split by U+200D", "13812\u200d345678", "[phone]"],
  ["a US number split by U+2060", "555\u2060-123-\u20604567", "[phone]"],
  ["an international number split by U+FEFF", "+49\ufeff 30 1234\ufeff567", "[phone]"],
  ["an email split by a zero-width space", "ann\u200b@example.org", "[email]"],
  ["an unlabelled NHS number", "his is 943 476 5919.", "his is [id-number]."],
  ["an NHS number without spaces", "NHS: 9434765919", "NHS: [id-number]"],
  ["an unlabelled US SSN in spaces", "it is 123 45 6789, dad's", "it is [id-number], dad's"],
  ["a labelled US SSN in spaces", "SSN: 123 45 6789", "SSN: [id-number]"],
  ["a US SSN in full-width digits", "１２３-４５-６７８９", "[id-number]"],
  ["a Chinese mobile ending a sentence", "call 13812345678.", "call [phone]."],
  [
    "a labelled number, not the reading on the next line",
    "tel: 1234567\n2026-11-22 08:00 BP 142/90",
    "tel: [phone]\n2026-11-22 08:00 BP 142/90",
  ],
  [
    "several identifiers in one message",
    "Dad (+86 139 1234 5678, dad@example.cn, 身份证 110101195501014513) BP 142/90",
    "Dad ([phone], [email], 身份证 [id-number]) BP 142/90",
  ],
];

const kept: [string, string][] = [
  ["blood pressure", "BP 142/90 this morning, 120/80 mmHg yesterday"],
  ["glucose and lab values", "glucose 6.1 mmol/L, HbA1c 6.5%, LDL 3.2, INR 2.3, eGFR 90"],
  ["ISO dates", "seen on 2026-11-22, next 2027-01-05"],
  ["other date forms", "22.11.2026, 11/22/2026, 05.01.2026, 2026年11月22日"],
  ["timestamps", "2025-03-04T05:06:07Z and 2026-11-22 08:00"],
  ["times and schedules", "take at 08:00, 12:00 and 20:30; 08.00 12.00 18.00; 08:00-20:00"],
  ["doses", "metformin 500 mg twice daily, 0.5-1.0 mg, 1/2 tablet q8h, 10-12 units"],
  ["record ids", "fact:12, symptom #34, report #3, medication:1234567"],
  ["measurements", "weight 72.5 kg, temp 38.5°C, pulse 72 bpm, steps 12000, 13500 steps"],
  ["ranges", "normal 3.9-6.1, sodium 135-145 mmol/L, platelets 150-400 x10^9/L"],
  ["codes", "ICD-10 I10, E11.9, LOINC 2345-7, version 1.74.0"],
  [
    "the runtime header",
    "[Tue, 2025-03-04, 13:06 GMT+08:00 Asia/Shanghai · channel telegram · chat -1001234567890]",
  ],
  ["a telegram user id", "chat 123456789"],
  ["a year after a label", "insurance policy 2026 renewal"],
  ["an insurer's name", "insurance: AOK, member since 2019"],
  ["a change in a reading", "+12.5% since last week, +1.5 kg"],
  ["Chinese health text", "爸爸血压 142/90，空腹血糖 6.1，二甲双胍 500mg 每日两次"],
  ["unix seconds", "at 1735689600"],
  ["a local address", "user@localhost"],
  ["readings, dates, doses and times together", "142/90 on 2026-11-22 at 08:00, 5 mg, HbA1c 7.2"],
  ["spaced readings", "BP 120 80 pulse 72; 135 85 70; 142 90 68"],
  ["a blood count", "WBC 6.5 RBC 4.7 Hb 142 PLT 250 MCV 88"],
  ["full-width readings", "血压１４２/９０，血糖６.１"],
  ["a date with a zero-width space", "2026\u200b-11-22 08:\u200b00"],
  ["a ten-digit number starting with 1", "order 1234567890"],
  ["a number that breaks SSN rules", "lot 000-12-3456, batch 666 12 3456"],
  ["a long list of small numbers", "doses 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"],
  ["a reading next to a year", "weight 72 kg in 2026, 68 kg in 2025"],
];

describe("redactIdentifiers masks", () => {
  it.each(masked)("%s", (_what, input, expected) => {
    expect(redactIdentifiers(input)).toBe(expected);
  });
});

describe("redactIdentifiers keeps health data", () => {
  it.each(kept)("%s", (_what, input) => {
    expect(redactIdentifiers(input)).toBe(input);
  });
});

describe("redactIdentifiers as a whole", () => {
  it("is idempotent: masking masked text changes nothing", () => {
    for (const [, input] of masked) {
      const once = redactIdentifiers(input);
      expect(redactIdentifiers(once)).toBe(once);
    }
  });

  it("keeps the readings of a record that also holds identifiers", () => {
    const record = [
      "Grandma (id grandma; mother)",
      "facts:",
      "  #12 allergy: penicillin since 2019-04-01 [confirmed]",
      "  #13 contact: GP Dr. Wu, 021-87654321, wu@clinic.example [reported]",
      "medications:",
      "  #7 amlodipine, 5 mg, oral, daily, at 08:00, from 2025-01-10 [reported]",
      "readings: 2026-11-22 08:00 BP 142/90; glucose 6.1 mmol/L",
    ].join("\n");
    const out = redactIdentifiers(record);
    expect(out).toContain("GP Dr. Wu, [phone], [email] [reported]");
    expect(out).not.toMatch(/87654321|wu@clinic/);
    expect(out.replace("[phone], [email]", "021-87654321, wu@clinic.example")).toBe(record);
  });
});

describe("findIdentifiers and replaceIdentifiers", () => {
  it("find each identifier's kind and place in the original text, zero-width and full-width included", () => {
    const text = "Dad: ann@example.org, 手机１３８\u200b0013\u200b8000, NHS 943 476 5919";
    expect(findIdentifiers(text).map(({ kind, start, end }) => [kind, text.slice(start, end)])).toEqual([
      ["email", "ann@example.org"],
      ["phone", "１３８\u200b0013\u200b8000"],
      ["idNumber", "943 476 5919"],
    ]);
  });

  it("replace each span by what the caller gives for it, e.g. a pseudonym per conversation", () => {
    const text = "call 555 123 4567 or 555-987-6543";
    const spans = findIdentifiers(text);
    expect(replaceIdentifiers(text, spans, (span) => `[${span.kind} ${spans.indexOf(span) + 1}]`)).toBe(
      "call [phone 1] or [phone 2]",
    );
  });

  it("refuse spans out of order, overlapping or outside the text, naming the span", () => {
    const text = "call 555 123 4567";
    const [span] = findIdentifiers(text);
    expect(() => replaceIdentifiers(text, [span!, span!])).toThrow(/identifier span 5-17 .*overlapping/);
    expect(() => replaceIdentifiers(text, [{ kind: "phone", start: 10, end: 99 }])).toThrow(
      /outside a text of 17/,
    );
  });
});
