// What of an error's text may reach a chat: server paths and stack frames go, what a person wrote for people stays.
import { describe, expect, it } from 'vitest';
import { GenerationFailedError, toBotError } from '../../bots/core/errors.ts';
import { redactDetail } from '../../bots/core/redact.ts';
import { looksLikeServerPath } from '../../shared/redact.ts';

describe('redactDetail', () => {
  it('replaces absolute paths (Unix, Windows, UNC, file URLs) with their last part and keeps ratios, slash commands and "and/or"', () => {
    expect(redactDetail('model package /home/ci/models/x is not usable: transformer/model.onnx failed')).toBe(
      'model package …/x is not usable: transformer/model.onnx failed',
    );
    expect(redactDetail('Load model from C:\\models\\x.onnx failed')).toBe('Load model from …/x.onnx failed');
    expect(redactDetail('cannot open \\\\nas\\share\\m.onnx')).toBe('cannot open …/m.onnx');
    expect(redactDetail('see file:///srv/animate/log')).toBe('see …/log');
    expect(redactDetail('aspect must be one of 1:1, 16:9; try /animate help and/or 16/9')).toBe('aspect must be one of 1:1, 16:9; try /animate help and/or 16/9');
  });

  it('keeps the first line only, drops stack frames and control characters, and caps the length', () => {
    expect(redactDetail('boom at run (/srv/a.ts:1:2)\n    at next (/srv/b.ts:3:4)')).toBe('boom');
    expect(redactDetail('a\u0007b')).toBe('a b');
    const long = redactDetail('x'.repeat(1000), 50);
    expect(long).toHaveLength(50);
    expect(long.endsWith('…')).toBe(true);
    expect(redactDetail(undefined)).toBe('');
  });

  it('looksLikeServerPath tells what redaction leaves alone', () => {
    expect(looksLikeServerPath('/home/u/x')).toBe(true);
    expect(looksLikeServerPath('D:\\x')).toBe(true);
    expect(looksLikeServerPath('model package …/x is not usable')).toBe(false);
  });
});

describe('toBotError', () => {
  it('adds the redacted message of an unexpected error, never its path or stack', () => {
    const err = new Error("ENOENT: no such file or directory, open '/var/lib/animate/clip.mp4'\n    at open (node:fs:1:1)");
    const bot = toBotError(err, 'The clip was made but could not be posted here.');
    expect(bot).toBeInstanceOf(GenerationFailedError);
    expect(bot.message).toBe("The clip was made but could not be posted here. (ENOENT: no such file or directory, open '…/clip.mp4')");
  });
});
