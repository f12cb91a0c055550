// The cap on an inbound message's length (channels.<name>.maxInboundChars, else gateway.maxInboundChars): a
// longer message is answered with a short note instead of being sent to the model, whatever channel it came on.

/** The message's length in characters (code points), or undefined when it is within `limit`. */
export function lengthOverLimit(text: string, limit: number): number | undefined {
  // A string's UTF-16 length is never below its count of characters: most messages stop here.
  if (text.length <= limit) return undefined;
  let characters = 0;
  for (const _ of text) characters++;
  return characters > limit ? characters : undefined;
}

/** What the sender of an over-long message is told. */
export function tooLongReply(characters: number, limit: number): string {
  const count = (n: number) => n.toLocaleString("en-US");
  return `That message is too long for me (${count(characters)} characters; the limit is ${count(limit)}). Please send it in parts or as a file.`;
}
