// The in-process GIF preview encoder (gif-encoder.ts, palette.ts, in the preview worker thread): what it writes is
// read back by ffprobe (codec, size, frame count, frame rate) and decoded by ffmpeg to compare pixels with the input,
// within the palette's error: exact for ≤ 256 colours (one palette entry each), within a PSNR bound for many.
import { afterAll, describe, expect, it } from 'vitest';
import { encodePreview } from '../../inference/media/preview.ts';
import { decodeFrames } from '../../inference/media/decode.ts';
import { probeClip } from '../../inference/media/probe.ts';
import { previewEncoderThread } from '../../inference/media/preview-encoder.ts';
import { encodeGif, gifDelay } from '../../inference/media/gif-encoder.ts';

afterAll(() => previewEncoderThread.close());

function clip(w: number, h: number, n: number, pixel: (x: number, y: number, f: number) => [number, number, number]): Uint8Array[] {
  return Array.from({ length: n }, (_, f) => {
    const a = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) a.set(pixel(x, y, f), (y * w + x) * 3);
    return a;
  });
}

/** Largest per-channel difference and PSNR (dB) of `got` against `want` read through `at` (source coordinates). */
function compare(got: Uint8Array[], w: number, h: number, want: Uint8Array[], at: (x: number, y: number) => number): { max: number; psnr: number } {
  let max = 0, se = 0, n = 0;
  got.forEach((frame, f) => {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      const d = frame[(y * w + x) * 3 + c]! - want[f]![at(x, y) * 3 + c]!;
      max = Math.max(max, Math.abs(d));
      se += d * d;
      n++;
    }
  });
  return { max, psnr: 10 * Math.log10((255 * 255) / Math.max(se / n, 1e-9)) };
}

describe('GIF previews encoded in-process', () => {
  it('a 64x64x17 preview enlarged to 128: ffprobe reads 17 frames of 128x128 at 8 fps, and ≤ 64 colours come back exactly', async () => {
    // 60 colours, each its own 15-bit bin: the preview palette (PREVIEW_COLOURS, 64) holds each one exactly.
    const colour = (k: number): [number, number, number] => [(k % 8) * 32 + 8, (Math.floor(k / 8) % 8) * 32 + 8, 40];
    const frames = clip(64, 64, 17, (x, y, f) => colour((Math.floor(x / 8) + Math.floor(y / 8) * 8 + f * 11) % 60));
    const p = await encodePreview({ width: 64, height: 64, fps: 8, frames }, { format: 'gif', maxSide: 128 });
    expect([p.mimeType, p.width, p.height, p.frames]).toEqual(['image/gif', 128, 128, 17]);
    const probe = await probeClip(p.data);
    console.log(`GIF preview 64x64x17 → 128: ${p.data.length} bytes; ffprobe ${probe.codec} ${probe.width}x${probe.height} ${probe.frames} frames ${probe.fps.toFixed(2)} fps`);
    expect([probe.codec, probe.formatName, probe.width, probe.height, probe.frames]).toEqual(['gif', 'gif', 128, 128, 17]);
    expect(probe.fps).toBeCloseTo(100 / gifDelay(8), 5); // GIF delays are hundredths: 8 fps is 13 cs
    const back = await decodeFrames(p.data, 'gif');
    expect(back.frames).toHaveLength(17);
    const { max } = compare(back.frames, 128, 128, frames, (x, y) => (y >> 1) * 64 + (x >> 1));
    expect(max).toBe(0);
  });

  it('a smooth many-colour clip comes back within the palette error (≥ 26 dB, no channel off by more than 64)', async () => {
    const frames = clip(64, 64, 17, (x, y, f) => [(x * 4 + f * 5) & 255, y * 4, (x - 32) ** 2 + (y - 32) ** 2 < (10 + f) ** 2 ? 230 : 40]);
    const p = await encodePreview({ width: 64, height: 64, fps: 8, frames }, { format: 'gif', maxSide: 64 });
    const back = await decodeFrames(p.data, 'gif');
    const { max, psnr } = compare(back.frames, 64, 64, frames, (x, y) => y * 64 + x);
    console.log(`many colours: PSNR ${psnr.toFixed(2)} dB, largest error ${max}, ${p.data.length} bytes`);
    expect(back.frames).toHaveLength(17);
    // 64 colours for thousands: measured 27.3 dB, largest error 60.
    expect(psnr).toBeGreaterThanOrEqual(26);
    expect(max).toBeLessThanOrEqual(64);
  });

  it('shrinks by area averaging when the preview is bigger than max_side', async () => {
    // 2x2 blocks of one colour (64 colours in all) shrink to that colour exactly.
    const frames = clip(64, 32, 3, (x, y, f) => [(((x >> 1) + f) % 4) * 64, (y >> 1) * 16, 100]);
    const p = await encodePreview({ width: 64, height: 32, fps: 4, frames }, { format: 'gif', maxSide: 32 });
    expect([p.width, p.height]).toEqual([32, 16]);
    const back = await decodeFrames(p.data, 'gif');
    expect([back.width, back.height, back.frames.length]).toEqual([32, 16, 3]);
    expect(compare(back.frames, 32, 16, frames, (x, y) => 2 * y * 64 + 2 * x).max).toBe(0);
  });

  it('LZW past a full code table (clear codes) decodes exactly: 256x256 of noise in 256 colours', async () => {
    let s = 7;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    const grey = (v: number): [number, number, number] => [v & 0xf8, v & 0xf8, (v * 7) & 0xf8];
    const frames = clip(256, 256, 2, () => grey(rand()));
    const data = Buffer.from(encodeGif({ width: 256, height: 256, fps: 10, frames }));
    const back = await decodeFrames(data, 'gif');
    expect(compare(back.frames, 256, 256, frames, (x, y) => y * 256 + x).max).toBe(0);
  });

  it('runs off the event loop: the loop keeps turning while a big preview encodes', async () => {
    const frames = clip(256, 256, 17, (x, y, f) => [(x + f * 3) & 255, (y * 2) & 255, (x ^ y) & 255]);
    let turns = 0;
    let running = true;
    const spin = () => { if (!running) return; turns++; setImmediate(spin); };
    setImmediate(spin);
    const p = await encodePreview({ width: 256, height: 256, fps: 8, frames }, { format: 'gif', maxSide: 256 });
    running = false;
    console.log(`event-loop turns during a 256x256x17 encode: ${turns} (${p.data.length} bytes)`);
    expect(p.frames).toBe(17);
    expect(turns).toBeGreaterThan(1);
  });

  it('an aborted preview rejects with ABORTED; the next one still encodes', async () => {
    const frames = clip(16, 16, 2, () => [1, 2, 3]);
    const ctl = new AbortController();
    ctl.abort();
    await expect(encodePreview({ width: 16, height: 16, fps: 8, frames }, { format: 'gif', maxSide: 16, signal: ctl.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const p = await encodePreview({ width: 16, height: 16, fps: 8, frames }, { format: 'gif', maxSide: 16 });
    expect(p.data.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  });
});
