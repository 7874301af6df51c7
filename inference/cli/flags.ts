// Number flags of the command-line tools: parsed once, with an error that names the flag, what it got and what is
// allowed. An absent flag stays undefined so that the callee's default applies.

/** A whole number ≥ `min` (default 0). */
export function integerFlag(name: string, raw: string | undefined, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return n;
}

/** Any finite number. */
export function decimalFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${raw}"`);
  return n;
}
