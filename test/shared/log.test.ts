// Logs carry request data (prompts, model names, cancel reasons, platform errors). Neither the daemon's logger nor the
// bots' may write a raw control character from it: a "\n" would forge a log line, an ESC sequence would recolour or
// retitle the operator's terminal, U+202E would reverse what follows on screen. Exact lines for hostile input.
import { describe, expect, it } from 'vitest';
import { escapeLogText, formatLogValue } from '../../shared/log-escape.ts';

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

// The loggers built on these (inference/log.ts, bots/core/logger.ts, over shared/log/) are tested with hostile input in
// test/log/logger.test.ts: their JSON and readable lines.
