/**
 * Fitting a clip to a byte limit (inference/media/fit.ts) against the real ffmpeg and ffprobe: each limit is set from
 * real encodes of a noisy synthetic clip, so every rung of the ladder (quality steps, then halving, then the floor) is
 * reached on purpose, and each result is probed for its size, frame count and codec against the limit.
 */
import { describe, expect, it } from 'vitest';
import { usePrivateTmpdir } from '../helpers/private-tmpdir.ts';
import { encodeClipAtQuality } from '../../inference/media/encode.ts';
import {
  encodeClip,
  fitClip,
  halve,
  isMediaError,
  MediaErrorCode,
  MIN_FIT_SIDE,
  probeClip,
  QUALITY_STEPS,
  type ClipFormat,
  type RgbVideo,
} from '../../inference/media/index.ts';

const FRAMES = 9;
const SIDE = 128;
const CODECS: Record<ClipFormat, string> = { mp4: 'h264', gif: 'gif', webp: 'webp' };
const LOWEST = QUALITY_STEPS.mp4.length - 1;

/** Gradient plus pseudo-random noise that moves each frame: quality and size both change the file size a lot. */
function noisyVideo(width: number, height: number, frames = FRAMES): RgbVideo {
  let seed = 7;
  const list: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(width * height * 3);
    for (let i = 0; i < frame.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const x = Math.floor(i / 3) % width;
      frame[i] = Math.max(0, Math.min(255, ((x * 2 + f * 9) % 256) + ((seed >> 16) % 96) - 48));
    }
    list.push(frame);
  }
  return { width, height, fps: 8, frames: list };
}

const video = noisyVideo(SIDE, SIDE);
usePrivateTmpdir('media-fit-test-tmp-');

describe('fitClip', () => {
  it('without a limit, or under one it already meets, is the encode as made, with no fit report', async () => {
    const made = await encodeClip(video, { format: 'mp4' });
    const unbounded = await fitClip(video, { format: 'mp4' });
    expect(unbounded.fit).toBeUndefined();
    expect(unbounded.data.equals(made.data)).toBe(true);
    const roomy = await fitClip(video, { format: 'mp4', maxBytes: made.data.length });
    expect(roomy.fit).toBeUndefined();
    expect(roomy.data.length).toBe(made.data.length);
  });

  it('first steps down the quality ladder at full size', async () => {
    const made = await encodeClip(video, { format: 'mp4' });
    const lowest = await encodeClipAtQuality(video, { format: 'mp4', upscale: 1, qualityStep: LOWEST });
    expect(lowest.data.length).toBeLessThan(made.data.length);
    const limit = Math.floor((made.data.length + lowest.data.length) / 2);

    const fitted = await fitClip(video, { format: 'mp4', maxBytes: limit });
    expect(fitted.data.length).toBeLessThanOrEqual(limit);
    expect(fitted.fit).toMatchObject({ limitBytes: limit, originalBytes: made.data.length, downscale: 1, overLimit: false });
    expect(fitted.fit!.qualityStep).toBeGreaterThan(0);
    const probe = await probeClip(fitted.data);
    expect([probe.codec, probe.width, probe.height, probe.frames]).toEqual(['h264', SIDE, SIDE, FRAMES]);
  });

  it('then halves the size when even the lowest quality at full size is over', async () => {
    const lowest = await encodeClipAtQuality(video, { format: 'mp4', upscale: 1, qualityStep: LOWEST });
    const lowestHalf = await encodeClipAtQuality(halve(video), { format: 'mp4', upscale: 1, qualityStep: LOWEST });
    expect(lowestHalf.data.length).toBeLessThan(lowest.data.length);
    // Over everything at full size, within reach at half size.
    const limit = Math.floor((lowest.data.length + lowestHalf.data.length) / 2);

    const fitted = await fitClip(video, { format: 'mp4', maxBytes: limit });
    expect(fitted.data.length).toBeLessThanOrEqual(limit);
    expect(fitted.fit).toMatchObject({ limitBytes: limit, downscale: 2, overLimit: false });
    const probe = await probeClip(fitted.data);
    expect([probe.width, probe.height, probe.frames]).toEqual([SIDE / 2, SIDE / 2, FRAMES]);
    expect([fitted.width, fitted.height]).toEqual([SIDE / 2, SIDE / 2]);
  });

  it('when nothing fits, returns the smallest encode at the floor, flagged over the limit', async () => {
    const fitted = await fitClip(video, { format: 'mp4', maxBytes: 100 });
    expect(fitted.fit).toMatchObject({ limitBytes: 100, overLimit: true, qualityStep: LOWEST });
    expect(fitted.data.length).toBeGreaterThan(100);
    // 128 → 64 → 32 → 16: the last rung not below MIN_FIT_SIDE.
    expect(fitted.fit!.downscale).toBe(SIDE / MIN_FIT_SIDE);
    const probe = await probeClip(fitted.data);
    expect([probe.width, probe.height, probe.frames]).toEqual([MIN_FIT_SIDE, MIN_FIT_SIDE, FRAMES]);
    // It is the smallest made: the full-size lowest quality is bigger.
    const lowest = await encodeClipAtQuality(video, { format: 'mp4', upscale: 1, qualityStep: LOWEST });
    expect(fitted.data.length).toBeLessThan(lowest.data.length);
  });

  it('a raised floor stops the halving earlier', async () => {
    const fitted = await fitClip(video, { format: 'mp4', maxBytes: 100, minSide: 64 });
    expect(fitted.fit).toMatchObject({ overLimit: true, downscale: 2 });
    expect((await probeClip(fitted.data)).width).toBe(64);
  });

  it('halves an even upscale before the frames themselves', async () => {
    const small = noisyVideo(32, 32);
    const lowest = await encodeClipAtQuality(small, { format: 'mp4', upscale: 2, qualityStep: LOWEST });
    expect((await probeClip(lowest.data)).width).toBe(64);
    const limit = lowest.data.length - 1;
    const fitted = await fitClip(small, { format: 'mp4', upscale: 2, maxBytes: limit });
    expect(fitted.data.length).toBeLessThanOrEqual(limit);
    expect(fitted.fit).toMatchObject({ downscale: 2, overLimit: false });
    // The half-size rung is the source frames untouched (only the upscale dropped): byte-identical to a plain encode.
    const plain = await encodeClipAtQuality(small, { format: 'mp4', upscale: 1, qualityStep: fitted.fit!.qualityStep });
    expect(fitted.data.equals(plain.data)).toBe(true);
    expect((await probeClip(fitted.data)).width).toBe(32);
  });

  it.each(['gif', 'webp'] as const)('fits %s too, checked with ffprobe', async (format) => {
    const made = await encodeClip(video, { format });
    const limit = Math.floor(made.data.length * 0.3);
    const fitted = await fitClip(video, { format, maxBytes: limit });
    expect(fitted.data.length).toBeLessThanOrEqual(limit);
    expect(fitted.fit).toMatchObject({ limitBytes: limit, originalBytes: made.data.length, overLimit: false });
    const probe = await probeClip(fitted.data);
    expect(probe.codec).toBe(CODECS[format]);
    expect(probe.width).toBe(SIDE / fitted.fit!.downscale);
  });

  it('rejects a limit below 1 byte and a floor below 1 pixel as INVALID_OPTIONS', async () => {
    for (const options of [{ format: 'mp4', maxBytes: 0 }, { format: 'mp4', maxBytes: 10, minSide: 0 }] as const) {
      const error = await fitClip(video, options).then(() => undefined, (e: unknown) => e);
      expect(isMediaError(error) && error.code).toBe(MediaErrorCode.InvalidOptions);
    }
  });
});

describe('halve', () => {
  it('averages each 2×2 block and rounds odd sides down', () => {
    // 3×2: the third column has no partner and is dropped; each output pixel is the mean of its block.
    const frame = Uint8Array.from([0, 0, 0, 100, 10, 1, 250, 250, 250, 50, 20, 3, 250, 30, 5, 250, 250, 250]);
    const out = halve({ width: 3, height: 2, fps: 8, frames: [frame] });
    expect([out.width, out.height, out.fps]).toEqual([1, 1, 8]);
    expect([...out.frames[0]!]).toEqual([Math.round(400 / 4), Math.round(60 / 4), Math.round(9 / 4)]);
  });
});
