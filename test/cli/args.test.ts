// The command lines' argument parser (inference/cli/args.ts), in-process: the did-you-mean rule, negative numbers as
// values, and the refusals' exact words. The CLIs themselves are run as processes in animate-cli.test.ts.
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCli, type FlagSpecs } from '../../inference/cli/args.ts';
import { editDistance, nearestName as nearestFlag } from '../../shared/did-you-mean.ts';

const SPECS = { guidance: { type: 'string' }, steps: { type: 'string' }, format: { type: 'string', multiple: true }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const satisfies FlagSpecs;
const PROGRAM = { name: 'animate', help: 'npm run animate -- --help' };
const parse = (argv: string[]) => parseCli(PROGRAM, argv, SPECS, true);
const refusal = (argv: string[]) => {
  try {
    parse(argv);
  } catch (err) {
    return err as CliUsageError;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
};

describe('parseCli', () => {
  it('takes a negative number after a value-taking flag as its value, in every spelling', () => {
    for (const n of ['-3', '-0.5', '-1e-2', '+2', '-.5']) expect(parse(['a ball', '--guidance', n]).values.guidance).toBe(n);
    expect(parse(['--guidance=-3']).values.guidance).toBe('-3');
    expect(parse(['--steps', '3', 'a', 'ball']).positionals).toEqual(['a', 'ball']);
    expect(parse(['--format', 'gif', '--format', 'mp4']).values.format).toEqual(['gif', 'mp4']);
    expect(parse(['--', '--not-a-flag']).positionals).toEqual(['--not-a-flag']);
    expect(parse(['-h']).values.help).toBe(true);
  });

  it('names an unknown flag with the nearest known one and lists the allowed flags', () => {
    const err = refusal(['--gudance', '3']);
    expect(err.code).toBe('UNKNOWN_FLAG');
    expect(err.message).toBe('unknown flag --gudance; did you mean --guidance?\nanimate takes: --guidance, --steps, --format, --quiet, --help (`npm run animate -- --help` explains each)');
    expect(refusal(['--stesp=3']).message.split('\n')[0]).toBe('unknown flag --stesp; did you mean --steps?');
    // Nothing near: no guess, the list only.
    expect(refusal(['--zzzz']).message.split('\n')[0]).toBe('unknown flag --zzzz');
    expect(refusal(['-x']).message.split('\n')[0]).toBe('unknown flag -x');
  });

  it('refuses a flag without its value, a value on a boolean, each naming the flag', () => {
    expect(refusal(['--steps']).message).toBe('--steps needs a value; write --steps VALUE, or --steps=VALUE for a value that starts with "-"');
    expect(refusal(['--steps', '--quiet']).message).toBe('--steps needs a value (it was followed by --quiet); write --steps VALUE, or --steps=VALUE for a value that starts with "-"');
    expect(refusal(['--quiet=yes']).code).toBe('FLAG_TAKES_NO_VALUE');
    expect(() => parseCli({ name: 'daemon', help: 'npm run daemon -- --help' }, ['stray'], SPECS, false)).toThrow('unexpected argument "stray": daemon takes flags only (`npm run daemon -- --help` lists them)');
  });

  it('edit distance and the nearness rule', () => {
    expect([editDistance('gudance', 'guidance'), editDistance('', 'abc'), editDistance('fps', 'fps')]).toEqual([1, 3, 0]);
    expect(nearestFlag('guid', ['guidance', 'steps'])).toBe('guidance'); // a prefix of one flag
    expect(nearestFlag('x', ['fps', 'out'])).toBeUndefined(); // two edits, but of a three-letter name
  });
});
