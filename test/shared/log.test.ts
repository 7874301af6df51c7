// Logs carry request data (prompts, model names, cancel reasons, platform errors). Neither the daemon's logger nor the
// bots' may write a raw control character from it: a "\n" would forge a log line, an ESC sequence would recolour or
// retitle the operator's terminal, U+202E would reverse what follows on screen. Exact lines for hostile input.
import { describe, expect, it } from 'vitest';
import { consoleLogger } from '../../bots/core/logger.ts';
import { createLogger } from '../../inference/log.ts';
import { escapeLogText, formatLogValue } from '../../shared/log-escape.ts';

/** Nothing a terminal acts on: C0 (all of it, newline included), DEL, C1, line/paragraph separators, bidi controls. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

function daemonLines(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger('debug', (l) => lines.push(l), 'daemon', () => new Date(0)) };
}

describe('shared/log-escape', () => {
  it('escapes every control character visibly, keeping ordinary text (quotes, backslashes, emoji) as is', () => {
    expect(escapeLogText('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(escapeLogText('\x1b[31mred\x1b[0m')).toBe('\\x1b[31mred\\x1b[0m');
    expect(escapeLogText('nul\x00 del\x7f c1\x85\x9b')).toBe('nul\\x00 del\\x7f c1\\x85\\x9b');
    expect(escapeLogText('evil\u202egnp.exe \u2066x\u2069 \u200f')).toBe('evil\\u202egnp.exe \\u2066x\\u2069 \\u200f');
    expect(escapeLogText('line\u2028sep\u2029')).toBe('line\\u2028sep\\u2029');
    expect(escapeLogText('lone \ud800 surrogate')).toBe('lone \\ud800 surrogate');
    expect(escapeLogText('plain "quoted" C:\\dir café 🎬')).toBe('plain "quoted" C:\\dir café 🎬');
  });

  it('leaves plain values bare and quotes the rest JSON-style', () => {
    expect(formatLogValue('tiny-world')).toBe('tiny-world');
    expect(formatLogValue(12.3456)).toBe('12.35');
    expect(formatLogValue('two words')).toBe('"two words"');
    expect(formatLogValue('')).toBe('""');
    expect(formatLogValue('k=v')).toBe('"k=v"');
    expect(formatLogValue('say "hi"')).toBe('"say \\"hi\\""');
    expect(formatLogValue('C:\\models')).toBe('"C:\\\\models"');
    expect(formatLogValue('a\u202eb')).toBe('"a\\u202eb"');
    expect(formatLogValue(['a', 'b'])).toBe('"[\\"a\\",\\"b\\"]"');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(formatLogValue(circular)).toBe('"[object Object]"');
  });
});

describe('daemon logger (inference/log.ts)', () => {
  it('writes one line for a hostile message and fields, every control character escaped', () => {
    const { lines, log } = daemonLines();
    log.warn('job failed\n1970-01-01T00:00:00.000Z INFO  [daemon] forged', {
      prompt: 'a \x1b[31mred\x1b[0m ball\r\n',
      user: 'evil\u202egnp.exe',
      reason: 'nul\x00bell\x07',
      model: 'tiny-world',
      ms: 1.23456,
      skipped: undefined,
    });
    expect(lines).toEqual([
      '1970-01-01T00:00:00.000Z WARN  [daemon] job failed\\n1970-01-01T00:00:00.000Z INFO  [daemon] forged' +
        ' prompt="a \\x1b[31mred\\x1b[0m ball\\r\\n" user="evil\\u202egnp.exe" reason="nul\\x00bell\\x07" model=tiny-world ms=1.23',
    ]);
    expect(lines[0]).not.toMatch(RAW_CONTROL);
  });

  it('escapes a hostile key and an Error value too', () => {
    const { lines, log } = daemonLines();
    log.error('x', { 'k\ney': 1, err: new Error('bad\x1b[2J') });
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z ERROR [daemon] x k\\ney=1 err="Error: bad\\x1b[2J"']);
  });

  it('drops lines below its level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l), 'daemon', () => new Date(0));
    log.info('hidden');
    log.debug('hidden');
    log.warn('shown');
    expect(lines).toEqual(['1970-01-01T00:00:00.000Z WARN  [daemon] shown']);
  });
});

describe('bots logger (bots/core/logger.ts)', () => {
  it('escapes the message and a string detail', () => {
    const lines: string[] = [];
    const log = consoleLogger('[slack]', (l) => lines.push(l));
    log.warn('could not post "\x1b]0;pwned\x07"', 'user said: hi\n[slack] error forged');
    expect(lines).toEqual(['[slack] warn could not post "\\x1b]0;pwned\\x07" "user said: hi\\n[slack] error forged"']);
  });

  it('writes an error as name, message, code and cause on one line, then only its real stack frames, indented', () => {
    const lines: string[] = [];
    const log = consoleLogger('[bot-core]', (l) => lines.push(l));
    const err = Object.assign(new Error('boom\n    at forged (evil.js:1:1)\n[bot-core] error forged', { cause: new Error('root\r') }), { code: 'E_DAEMON' });
    log.error('job j1 failed', err);
    const [first, ...frames] = lines[0]!.split('\n');
    expect(first).toBe('[bot-core] error job j1 failed error="Error: boom\\n    at forged (evil.js:1:1)\\n[bot-core] error forged" code=E_DAEMON cause="Error: root\\r"');
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThanOrEqual(8);
    for (const frame of frames) {
      expect(frame).toMatch(/^ {4}at /);
      expect(frame).not.toMatch(RAW_CONTROL);
    }
    expect(frames.join('\n')).not.toMatch(/forged/);
    expect(frames[0]).toMatch(/log\.test\.ts/);
  });

  it('writes an object detail as key=value fields and drops debug unless asked', () => {
    const lines: string[] = [];
    consoleLogger('[bot]', (l) => lines.push(l)).debug('hidden');
    consoleLogger('[bot]', (l) => lines.push(l), true).debug('shown');
    consoleLogger('[bot]', (l) => lines.push(l)).info('asked', { user: 'u\u2028v', jobs: 2, nested: { a: 'b\n' } });
    expect(lines).toEqual(['[bot] debug shown', '[bot] info asked user="u\\u2028v" jobs=2 nested="{\\"a\\":\\"b\\\\n\\"}"']);
  });
});
