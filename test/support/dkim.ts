// A DKIM test key and the DNS a sender's domain would publish for it, served by a fake resolver: medbot's
// verification runs the real mailauth code against records we own, without any network lookup.
import { generateKeyPairSync } from "node:crypto";

/** An RSA key pair for one test run; the public half is what the fake resolver serves. */
export function dkimTestKey(): { privateKey: string; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyBase64: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
  };
}

/** TXT records by name, answered like dns.promises.resolve; anything else is "not found". */
export function fakeResolver(txt: Record<string, string>) {
  const asked: string[] = [];
  const resolver = async (name: string, rrtype: string): Promise<string[][]> => {
    asked.push(`${rrtype} ${name}`);
    const record = rrtype === "TXT" ? txt[name.toLowerCase()] : undefined;
    if (record === undefined) {
      throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
    }
    return [[record]];
  };
  return Object.assign(resolver, { asked });
}

/** The records of a domain that signs with `publicKeyBase64` under `selector` and publishes DMARC. */
export function signingDomainRecords(domain: string, selector: string, publicKeyBase64: string) {
  return {
    [`${selector}._domainkey.${domain}`]: `v=DKIM1; k=rsa; p=${publicKeyBase64}`,
    [`_dmarc.${domain}`]: "v=DMARC1; p=reject",
  };
}
