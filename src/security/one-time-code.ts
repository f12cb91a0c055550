// Short codes a person reads in a chat and types back (pairing, confirming a send to a contact).
import { randomInt } from "node:crypto";

/** No 0/O, 1/I/L: a code read aloud or copied from a phone cannot be mistyped into another. */
export const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/** A random code of `length` characters from CODE_ALPHABET (crypto-strength). */
export function oneTimeCode(length: number): string {
  return Array.from({ length }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join("");
}
