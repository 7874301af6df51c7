// Reads the operator's blocklist (ANIMATE_BLOCKLIST_FILE) at start-up: one term or phrase per line; a line whose first
// non-space character is # is a comment, blank lines are skipped. The file is operator input but can still be wrong
// (a binary file, a dump of a million words, a stray control character), so it is bounded and every problem stops
// start-up with a message naming the variable, the file and the line, instead of a daemon that matches nothing or
// takes seconds per prompt.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CodedError } from '../../shared/errors.ts';
import { tokenize } from '../../shared/policy/normalize.ts';

export const BLOCKLIST_FILE_LIMITS = {
  /** Bytes of the file at most (1 MiB). */
  maxBytes: 1024 * 1024,
  /** Terms at most. The matcher's cost does not grow with them, but a longer list is a wrong file. */
  maxTerms: 10_000,
  /** Characters of one line at most. */
  maxLineChars: 200,
} satisfies Record<string, number>;
export type BlocklistFileLimits = typeof BLOCKLIST_FILE_LIMITS;

export class BlocklistFileError extends CodedError<'BLOCKLIST_FILE_INVALID'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BLOCKLIST_FILE_INVALID', message, options);
  }
}

/** Control characters (a tab is allowed: it is space); a line holding one is a wrong file, not a term. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/**
 * The terms of a blocklist's text. `where` names the setting and file in messages, e.g.
 * `ANIMATE_BLOCKLIST_FILE (/etc/animate/blocklist.txt)`.
 */
export function parseBlocklist(text: string, where: string, limits: BlocklistFileLimits = BLOCKLIST_FILE_LIMITS): string[] {
  const terms: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\t/g, ' ').trim();
    const at = `${where} line ${i + 1}`;
    if (line.length === 0 || line.startsWith('#')) continue;
    if (line.length > limits.maxLineChars) throw new BlocklistFileError(`${at} is ${line.length} characters long; a term or phrase may have at most ${limits.maxLineChars}`);
    if (CONTROL.test(line)) throw new BlocklistFileError(`${at} holds a control character; write one term or phrase per line, as plain text`);
    if (tokenize(line).length === 0)
      throw new BlocklistFileError(`${at} (${JSON.stringify(line)}) has no letter or digit, so it would match nothing; write a word or phrase, or start the line with # to make it a comment`);
    if (terms.length === limits.maxTerms) throw new BlocklistFileError(`${at}: the file holds more than ${limits.maxTerms} terms, the most allowed`);
    terms.push(line);
  }
  return terms;
}

/** Reads and parses `file` (relative paths: to the working directory); `variable` is the setting it came from. */
export function readBlocklistFile(file: string, variable = 'ANIMATE_BLOCKLIST_FILE', limits: BlocklistFileLimits = BLOCKLIST_FILE_LIMITS): string[] {
  const where = `${variable} (${file})`;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new BlocklistFileError(`${where} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; it must be a text file with one blocked term or phrase per line`, { cause: err });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new BlocklistFileError(`${where} is not a regular file; it must be a text file with one blocked term or phrase per line`);
    // The size is checked before reading, so a huge file (or one growing) is refused without being loaded.
    if (stat.size > limits.maxBytes) throw new BlocklistFileError(`${where} is ${stat.size} bytes; a blocklist may have at most ${limits.maxBytes} bytes`);
    const buffer = Buffer.alloc(limits.maxBytes + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    if (length > limits.maxBytes) throw new BlocklistFileError(`${where} is over ${limits.maxBytes} bytes; a blocklist may have at most ${limits.maxBytes} bytes`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch (err) {
      throw new BlocklistFileError(`${where} is not UTF-8 text; write one blocked term or phrase per line, in UTF-8`, { cause: err });
    }
    return parseBlocklist(text, where, limits);
  } finally {
    closeSync(fd);
  }
}
