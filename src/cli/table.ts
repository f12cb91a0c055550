// Terminal tables: columns aligned by display width, so a CJK name (two columns a character) or an emoji
// does not push the rest of its row out of line. string-width measures what a terminal shows.
import stringWidth from "string-width";

/** Rows as left-aligned columns, two spaces apart; trailing spaces trimmed. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => stringWidth(r[i] ?? ""))));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell + " ".repeat(Math.max(0, widths[i]! - stringWidth(cell))))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
