// The clip's reassembly from the daemon's chunks, without a daemon: the size a first chunk announces is capped before
// anything is allocated (the request's max_clip_bytes for a fitted file, else MAX_ASSEMBLED_CLIP_BYTES), and chunks
// must be contiguous, so a resent chunk cannot stand in for a missing one.
import { describe, expect, it } from 'vitest';
import { ClipAssembler, MAX_ASSEMBLED_CLIP_BYTES } from '../../bots/core/job-runner.ts';
import { BotErrorCode, GenerationFailedError } from '../../bots/core/errors.ts';
import { OutputFormat } from '../../shared/proto/gen/animate/v1/OutputFormat.ts';
import type { ClipChunk__Output } from '../../shared/rpc/types.ts';

const FILE = Buffer.from('0123456789abcdef');

function chunk(offset: number, length: number, extra: Partial<ClipChunk__Output> = {}): ClipChunk__Output {
  return {
    format: OutputFormat.MP4,
    mimeType: 'video/mp4',
    data: FILE.subarray(offset, offset + length),
    offset,
    totalBytes: FILE.length,
    last: offset + length === FILE.length,
    width: 32,
    height: 32,
    frames: 5,
    fps: 8,
    fit: null,
    ...extra,
  };
}

const fit = (overLimit: boolean) => ({ limitBytes: 8, originalBytes: 64, qualityStep: 2, downscale: 1, overLimit });

function failure(fn: () => unknown): GenerationFailedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GenerationFailedError);
    expect((err as GenerationFailedError).code).toBe(BotErrorCode.GenerationFailed);
    return err as GenerationFailedError;
  }
  throw new Error('expected a GenerationFailedError');
}

describe('ClipAssembler', () => {
  it('puts contiguous chunks together into the file', () => {
    const a = new ClipAssembler();
    a.add(chunk(0, 6));
    a.add(chunk(6, 6));
    a.add(chunk(12, 4));
    const [file] = a.complete('a red ball', 42);
    expect(file?.data.equals(FILE)).toBe(true);
    expect(file?.fileName).toBe('a-red-ball-seed42.mp4');
  });

  it('refuses a resent chunk, so a duplicate cannot make up for a missing one', () => {
    const a = new ClipAssembler();
    a.add(chunk(0, 8));
    // Without the contiguity rule 8 + 8 bytes "received" would pass complete() with bytes 8..15 never sent.
    expect(failure(() => a.add(chunk(0, 8, { last: true }))).message).toContain('out of order (at byte 0, expected 8)');
  });

  it('refuses a gap, and a file whose last chunk never came is incomplete', () => {
    const gap = new ClipAssembler();
    gap.add(chunk(0, 4));
    expect(failure(() => gap.add(chunk(8, 8))).message).toContain('out of order');
    const unfinished = new ClipAssembler();
    unfinished.add(chunk(0, 8));
    expect(failure(() => unfinished.complete('p', 1)).message).toContain('arrived incomplete (8 of 16 bytes)');
  });

  it('refuses chunks after the last one and a total that changes mid-file', () => {
    const a = new ClipAssembler();
    a.add(chunk(0, 16));
    expect(failure(() => a.add(chunk(16, 0))).message).toContain('after the file');
    const b = new ClipAssembler();
    b.add(chunk(0, 8));
    expect(failure(() => b.add(chunk(8, 8, { totalBytes: 32 }))).message).toContain('changed the mp4 clip');
  });

  it('caps what the first chunk announces before allocating: 1 GiB without a limit, the request limit for a fitted file', () => {
    const huge = new ClipAssembler();
    expect(failure(() => huge.add(chunk(0, 4, { totalBytes: 0xffff_ffff }))).message).toContain(`over the ${MAX_ASSEMBLED_CLIP_BYTES} bytes`);
    const limited = new ClipAssembler({ maxClipBytes: 8 });
    expect(failure(() => limited.add(chunk(0, 4, { fit: fit(false) }))).message).toContain('clip of 16 bytes, over the 8 bytes');
  });

  it('takes a file the daemon flags over_limit (sent for a link), up to the 1 GiB ceiling', () => {
    const a = new ClipAssembler({ maxClipBytes: 8 });
    a.add(chunk(0, 16, { fit: fit(true) }));
    const [file] = a.complete('p', 1);
    expect(file?.fit?.overLimit).toBe(true);
    expect(file?.data.length).toBe(16);
  });
});
