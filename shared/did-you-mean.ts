// "Did you mean …?" for every name a person can mistype: CLI flags, configuration variables, playground commands.
// One edit-distance rule, so a typo is forgiven the same way wherever it is made.

/** Levenshtein distance (insertions, deletions, substitutions) between two names. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * The known name nearest to `name` when it is near enough to be a typo: at most 2 edits and at most a third of the
 * longer name (so "--x" does not "mean" "--fps"), or else `name` (3 characters or more) is a prefix of exactly one
 * known name ("--guid" → "--guidance"). Undefined when nothing is that close.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (best !== undefined && bestDistance <= Math.min(2, Math.ceil(Math.max(name.length, best.length) / 3))) return best;
  const prefixed = known.filter((k) => name.length >= 3 && k.startsWith(name));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
