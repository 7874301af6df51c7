// The command lines' one argument parser, over node:util parseArgs, for what parseArgs alone gets wrong for people:
// an unknown flag is named with the nearest known one (edit distance) and the list of flags allowed, instead of
// parseArgs' "Unknown option"; a negative number after a value-taking flag (`--guidance -3`) is that flag's value, so
// it reaches the real validation and is refused there with the allowed range, instead of parseArgs' "argument is
// ambiguous"; a value-taking flag with no value says so in one line. In shared/ because both wings have command lines
// (the daemon's and the client's in inference/cli/, `npm run discord:register` in bots/discord/main.ts), and bots/
// may not import inference/.
import { nearestName } from './did-you-mean.ts';
import { parseArgs } from 'node:util';
import { CodedError } from './errors.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** A command line this program cannot read: the message names the flag and what is allowed. */
export class CliUsageError extends CodedError<'UNKNOWN_FLAG' | 'MISSING_FLAG_VALUE' | 'FLAG_TAKES_NO_VALUE' | 'UNEXPECTED_ARGUMENT'> {}

/** A token that reads as a number, sign included ("-3", "-0.5", "-1e-2"): a value, never a flag. */
const NUMBER_TOKEN = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Who parses: `name` starts messages' lists ("animate takes: …"), `help` is the command that explains every flag. */
export interface CliProgram {
  name: string;
  help: string;
}

function unknownFlag(program: CliProgram, token: string, specs: FlagSpecs): CliUsageError {
  const name = token.replace(/^-+/, '').split('=')[0]!;
  const known = Object.keys(specs);
  const near = nearestName(name, known);
  const allowed = known.map((k) => `--${k}`).join(', ');
  return new CliUsageError(
    'UNKNOWN_FLAG',
    `unknown flag ${token.split('=')[0]}${near ? `; did you mean --${near}?` : ''}\n` +
      `${program.name} takes: ${allowed} (\`${program.help}\` explains each)`,
  );
}

/**
 * Parses `argv` against `specs`. Returns parseArgs' `values` and `positionals`. Everything after a bare `--` is
 * positional. Throws CliUsageError for an unknown flag, a value-taking flag without a value, or a value given to a
 * boolean flag.
 */
export function parseCli<S extends FlagSpecs>(program: CliProgram, argv: readonly string[], specs: S, allowPositionals: boolean) {
  const shorts = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const rewritten: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      rewritten.push(...argv.slice(i));
      break;
    }
    if (!token.startsWith('-') || token === '-' || NUMBER_TOKEN.test(token)) {
      if (!allowPositionals) throw new CliUsageError('UNEXPECTED_ARGUMENT', `unexpected argument "${token}": ${program.name} takes flags only (\`${program.help}\` lists them)`);
      rewritten.push(token);
      continue;
    }
    const long = token.startsWith('--');
    const [rawName, inline] = long ? [token.slice(2).split('=')[0]!, token.includes('=') ? token.slice(token.indexOf('=') + 1) : undefined] : [shorts.get(token.slice(1)), undefined];
    const name = rawName && Object.hasOwn(specs, rawName) ? rawName : undefined;
    if (name === undefined) throw unknownFlag(program, token, specs);
    const spec = specs[name]!;
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new CliUsageError('FLAG_TAKES_NO_VALUE', `--${name} takes no value (got "${token}"); give it alone: --${name}`);
      rewritten.push(`--${name}`);
      continue;
    }
    if (inline !== undefined) {
      rewritten.push(`--${name}=${inline}`);
      continue;
    }
    const next = argv[i + 1];
    // The next token is this flag's value unless it is a flag itself; a number with a minus sign is a value.
    if (next === undefined || next === '--' || (next.startsWith('-') && next !== '-' && !NUMBER_TOKEN.test(next))) {
      throw new CliUsageError('MISSING_FLAG_VALUE', `--${name} needs a value${next === undefined ? '' : ` (it was followed by ${next})`}; write --${name} VALUE, or --${name}=VALUE for a value that starts with "-"`);
    }
    rewritten.push(`--${name}=${next}`);
    i++;
  }
  return parseArgs({ args: rewritten, options: specs, allowPositionals, strict: true });
}
