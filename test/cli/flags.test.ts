// The command lines' number flags and per-seed file names (inference/cli/flags.ts, output-format.ts), in-process: a
// blank value is refused with the flag named rather than read as 0 (Number('') is 0), and `--out` in a folder whose
// name has a dot keeps its per-seed files in that folder.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decimalFlag, FlagValueError, integerFlag, seedListFlag } from '../../inference/cli/flags.ts';
import { seedFileName } from '../../inference/cli/output-format.ts';

const refusal = (f: () => unknown): FlagValueError => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(FlagValueError);
    return err as FlagValueError;
  }
  throw new Error('accepted');
};

describe('number flags', () => {
  it('refuse a blank value, naming the flag and what it takes', () => {
    expect(refusal(() => integerFlag('steps', '')).message).toBe('--steps is blank; give a whole number ≥ 0, or leave the flag out for the default');
    expect(refusal(() => integerFlag('fps', '  ', 1)).message).toBe('--fps is blank; give a whole number ≥ 1, or leave the flag out for the default');
    expect(refusal(() => decimalFlag('guidance', '')).message).toBe('--guidance is blank; give a number, or leave the flag out for the default');
    expect(refusal(() => integerFlag('steps', '')).code).toBe('INVALID_FLAG_VALUE');
  });

  it('still read numbers, negative ones included, and leave an absent flag undefined', () => {
    expect([integerFlag('steps', '12'), integerFlag('steps', undefined), decimalFlag('guidance', '-3'), decimalFlag('guidance', '7.5')]).toEqual([12, undefined, -3, 7.5]);
    expect(refusal(() => integerFlag('steps', '1.5')).message).toBe('--steps must be a whole number ≥ 0, got "1.5"');
  });

  it('--seeds: whole numbers separated by commas; an empty item is refused, not seed 0', () => {
    expect(seedListFlag('seeds', '1, 2,3')).toEqual([1, 2, 3]);
    for (const raw of ['1,,2', '1,', ',1', '']) {
      expect(refusal(() => seedListFlag('seeds', raw)).message).toBe(`--seeds "${raw}" has an empty item; give whole numbers ≥ 0 separated by commas, e.g. --seeds 1,2,3`);
    }
    expect(refusal(() => seedListFlag('seeds', '1,x')).message).toBe('--seeds must be a whole number ≥ 0, got "x"');
  });
});

describe('per-seed file names', () => {
  it('go beside --out, in its folder, even when the folder name has a dot', () => {
    expect(seedFileName(path.join('runs.v2', 'clip'), 1, 'mp4')).toBe(path.join('runs.v2', 'clip-s1.mp4'));
    expect(seedFileName(path.join('runs.v2', 'clip.mp4'), 2, 'mp4')).toBe(path.join('runs.v2', 'clip-s2.mp4'));
    expect(seedFileName('clip.gif', 3, 'gif')).toBe('clip-s3.gif');
    expect(seedFileName(path.join('out', 'a.b', 'heart.webp'), 40, 'webp')).toBe(path.join('out', 'a.b', 'heart-s40.webp'));
  });
});
