// ANIMATE_BLOCKLIST_FILE at start-up (inference/policy/blocklist-file.ts): comments and blank lines skipped, and every
// wrong file (missing, a folder, too big, too many terms, a long line, binary, a line of punctuation) stops start-up
// with a message naming the variable, the file and the line; the settings reach the daemon from flags and variables.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCKLIST_FILE_LIMITS, BlocklistFileError, parseBlocklist, readBlocklistFile } from '../../inference/policy/blocklist-file.ts';
import { createPromptPolicy } from '../../inference/policy/prompt-policy.ts';
import { daemonOptionsFrom } from '../../inference/cli/daemon-options.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { PromptRefusedError } from '../../inference/errors.ts';

let dir: string;
const file = (name: string) => path.join(dir, name);
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-blocklist-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('reading a blocklist file', () => {
  it('takes one term or phrase per line; # comments, blank lines, a BOM and CRLF are fine', async () => {
    await writeFile(file('ok.txt'), '\uFEFF# a comment\r\n\r\n  Spider \r\n\tblood bath\r\n   # indented comment\r\nC# code\r\n');
    expect(readBlocklistFile(file('ok.txt'))).toEqual(['Spider', 'blood bath', 'C# code']);
    await writeFile(file('empty.txt'), '# nothing blocked\n');
    expect(readBlocklistFile(file('empty.txt'))).toEqual([]);
  });

  const where = (name: string) => `ANIMATE_BLOCKLIST_FILE (${file(name)})`;
  const cases: Array<[string, string | Buffer, string]> = [
    ['long.txt', `ok\n${'x'.repeat(201)}\n`, 'line 2 is 201 characters long; a term or phrase may have at most 200'],
    ['punct.txt', 'ok\n\n---\n', 'line 3 ("---") has no letter or digit, so it would match nothing; write a word or phrase, or start the line with # to make it a comment'],
    ['control.txt', 'ok\nbad\u0007bell\n', 'line 2 holds a control character; write one term or phrase per line, as plain text'],
    ['many.txt', Array.from({ length: 10_001 }, (_, i) => `t${i}`).join('\n'), 'line 10001: the file holds more than 10000 terms, the most allowed'],
    ['binary.bin', Buffer.from([0x67, 0x6f, 0xff, 0xfe, 0x0a]), 'is not UTF-8 text; write one blocked term or phrase per line, in UTF-8'],
    ['huge.txt', 'a\n'.repeat(BLOCKLIST_FILE_LIMITS.maxBytes / 2 + 1), `is ${BLOCKLIST_FILE_LIMITS.maxBytes + 2} bytes; a blocklist may have at most 1048576 bytes`],
  ];
  it.each(cases)('%s is refused, naming the variable, the file and the line', async (name, content, problem) => {
    await writeFile(file(name), content);
    expect(() => readBlocklistFile(file(name))).toThrow(new BlocklistFileError(`${where(name)} ${problem}`));
  });

  it('a missing file or a folder is refused', async () => {
    expect(() => readBlocklistFile(file('gone.txt'))).toThrow(`${where('gone.txt')} cannot be read: ENOENT; it must be a text file with one blocked term or phrase per line`);
    await mkdir(file('folder'));
    expect(() => readBlocklistFile(file('folder'))).toThrow(`${where('folder')} is not a regular file`);
    try {
      readBlocklistFile(file('gone.txt'));
    } catch (err) {
      expect((err as BlocklistFileError).code).toBe('BLOCKLIST_FILE_INVALID');
    }
  });

  it('parses a hostile file within the bounds quickly', () => {
    // 5 000 lines of ~200 characters: about the most a 1 MiB file holds, each a 40-word phrase sharing its first 39 words.
    const text = Array.from({ length: 5_000 }, (_, i) => `${'word '.repeat(39)}w${i}`).join('\n');
    const t0 = performance.now();
    const terms = parseBlocklist(text, 'X');
    const policy = createPromptPolicy({ blockedTerms: terms });
    const ms = performance.now() - t0;
    console.log(`a ${(text.length / 1024).toFixed(0)} KiB list of ${terms.length} 40-word phrases parsed and compiled in ${ms.toFixed(0)} ms`);
    expect(text.length).toBeLessThan(BLOCKLIST_FILE_LIMITS.maxBytes);
    expect(policy.size).toBe(5_000);
    expect(() => policy.check({ prompt: `${'word '.repeat(39)}w77`, negativePrompt: '' })).toThrow(PromptRefusedError);
    expect(ms).toBeLessThan(10_000);
  });
});

describe('the settings', () => {
  it('reach the daemon from the variables and the flags', () => {
    expect(daemonOptionsFrom({}, { ANIMATE_BLOCKLIST_FILE: 'list.txt', ANIMATE_LOG_PROMPTS: 'yes' })).toMatchObject({ blocklistFile: 'list.txt', logPrompts: true });
    expect(daemonOptionsFrom({ 'blocklist-file': 'flag.txt', 'log-prompts': 'false' }, { ANIMATE_BLOCKLIST_FILE: 'list.txt', ANIMATE_LOG_PROMPTS: 'true' })).toMatchObject({ blocklistFile: 'flag.txt', logPrompts: false });
    expect(() => daemonOptionsFrom({}, { ANIMATE_LOG_PROMPTS: 'maybe' })).toThrow('ANIMATE_LOG_PROMPTS="maybe" is not valid');
  });

  it('a bad file stops the daemon at start-up, before any model is loaded', async () => {
    await writeFile(file('start.txt'), 'fine\n!!!\n');
    await expect(startDaemon({ listen: '127.0.0.1:0', modelsDir: dir, logger: silentLogger, blocklistFile: file('start.txt') })).rejects.toThrow(
      `ANIMATE_BLOCKLIST_FILE (${file('start.txt')}) line 2 ("!!!") has no letter or digit`,
    );
  });
});
