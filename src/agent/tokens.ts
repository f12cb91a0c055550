// A cheap token estimate for budgeting (the benchmark counts exactly with a real tokenizer).

/** About 4 characters per token for Latin text, about 1 per CJK character. */
export function estimateTokens(text: string): number {
  let wide = 0;
  for (const char of text) if (char.codePointAt(0)! > 0x2e7f) wide++;
  return Math.ceil((text.length - wide) / 4) + wide;
}
