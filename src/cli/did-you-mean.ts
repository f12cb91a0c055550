// "did you mean …": the known names closest to a mistyped one, for errors that name what was meant.

/** Edits (insert, delete, replace one character) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** Up to `limit` of `known` within a few edits of `word` (a third of its length, at least 2), closest first. */
export function closestNames(word: string, known: readonly string[], limit = 3): string[] {
  const wanted = word.toLowerCase();
  const reach = Math.max(2, Math.floor(wanted.length / 3));
  return known
    .map((name) => ({ name, distance: editDistance(wanted, name.toLowerCase()) }))
    .filter(({ distance }) => distance <= reach)
    .sort((x, y) => x.distance - y.distance)
    .slice(0, limit)
    .map(({ name }) => name);
}

/** "did you mean a or b?" for the closest names, or "" when none is close. */
export function didYouMean(word: string, known: readonly string[]): string {
  const close = closestNames(word, known);
  if (close.length === 0) return "";
  return `did you mean ${close.length === 1 ? close[0] : `${close.slice(0, -1).join(", ")} or ${close.at(-1)}`}?`;
}
