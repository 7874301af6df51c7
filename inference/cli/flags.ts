// Number flags of the command-line tools: parsed once, with an error that names the flag, what it got and what is
// allowed. An absent flag stays undefined so that the callee's default applies. A number in range is the callee's to
// check (the daemon knows the model's ranges): `--guidance -3` is a number here, refused there with the range.
import { CodedError } from '../../shared/errors.ts';

export class FlagValueError extends CodedError<'INVALID_FLAG_VALUE'> {}

/** A value given but blank (`--steps=`, the empty item of `--seeds 1,,2`): Number('') is 0, which nobody meant. */
function refuseBlank(name: string, raw: string, what: string): void {
  if (raw.trim() === '') throw new FlagValueError('INVALID_FLAG_VALUE', `--${name} is blank; give ${what}, or leave the flag out for the default`);
}

/** A whole number ≥ `min` (default 0). */
export function integerFlag(name: string, raw: string | undefined, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  refuseBlank(name, raw, `a whole number ≥ ${min}`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new FlagValueError('INVALID_FLAG_VALUE', `--${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return n;
}

/** Any finite number. */
export function decimalFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  refuseBlank(name, raw, 'a number');
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new FlagValueError('INVALID_FLAG_VALUE', `--${name} must be a number, got "${raw}"`);
  return n;
}

/** A comma-separated list of whole numbers ≥ 0 (`--seeds 1,2,3`); an empty item (`1,,2`, `1,`) is refused, not 0. */
export function seedListFlag(name: string, raw: string): number[] {
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new FlagValueError('INVALID_FLAG_VALUE', `--${name} "${raw}" has an empty item; give whole numbers ≥ 0 separated by commas, e.g. --${name} 1,2,3`);
  return items.map((s) => integerFlag(name, s)!);
}
