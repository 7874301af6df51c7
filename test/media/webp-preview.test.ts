// The in-process animated WebP preview encoder (webp-encoder.ts: VP8L lossless with a palette, LZ77 runs and rows).
// Its output is read back by two independent decoders, ffmpeg's (through the container reader of decode.ts) and
// Chromium's libwebp (WebCodecs' ImageDecoder, pixels read from a canvas), and must give the input back exactly when
// the clip has no more colours than the palette holds (256 for encodeWebp, PREVIEW_COLOURS = 64 for previews).
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePreview } from '../../inference/media/preview.ts';
import { decodeFrames } from '../../inference/media/decode.ts';
import { probeClip } from '../../inference/media/probe.ts';
import { previewEncoderThread } from '../../inference/media/preview-encoder.ts';
import { codeLengths, encodeWebp } from '../../inference/media/webp-encoder.ts';

afterAll(() => previewEncoderThread.close());

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

function clip(w: number, h: number, n: number, pixel: (x: number, y: number, f: number) => [number, number, number]): Uint8Array[] {
  return Array.from({ length: n }, (_, f) => {
    const a = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) a.set(pixel(x, y, f), (y * w + x) * 3);
    return a;
  });
}

function maxDiff(a: Uint8Array[], b: Uint8Array[]): number {
  let worst = 0;
  a.forEach((fa, f) => fa.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[f]![i]!)))));
  return worst;
}

// 60 colours in 8x8 blocks that move from frame to frame (literals, runs and repeated rows all occur); 200 for the
// direct encoder.
const colour = (k: number): [number, number, number] => [(k % 8) * 32 + 8, (Math.floor(k / 8) % 8) * 32 + 8, Math.floor(k / 64) * 64 + 8];
const blocks = clip(64, 64, 17, (x, y, f) => colour((Math.floor(x / 8) + Math.floor(y / 8) * 8 + f * 13) % 60));
const many = clip(64, 64, 17, (x, y, f) => colour((Math.floor(x / 8) + Math.floor(y / 8) * 8 + f * 13) % 200));

describe('WebP previews encoded in-process', () => {
  it('64x64x17 enlarged to 128: 17 frames of 128x128, the pixels back exactly through ffmpeg', async () => {
    const p = await encodePreview({ width: 64, height: 64, fps: 8, frames: blocks }, { format: 'webp', maxSide: 128 });
    expect([p.mimeType, p.width, p.height, p.frames]).toEqual(['image/webp', 128, 128, 17]);
    const probe = await probeClip(p.data);
    console.log(`WebP preview 64x64x17 → 128: ${p.data.length} bytes; ${probe.codec} ${probe.width}x${probe.height} ${probe.frames} frames ${probe.fps} fps`);
    expect([probe.codec, probe.width, probe.height, probe.frames, probe.fps]).toEqual(['webp', 128, 128, 17, 8]);
    const back = await decodeFrames(p.data, 'webp');
    const want = blocks.map((f) => {
      const big = new Uint8Array(128 * 128 * 3);
      for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) big.set(f.subarray(((y >> 1) * 64 + (x >> 1)) * 3, ((y >> 1) * 64 + (x >> 1)) * 3 + 3), (y * 128 + x) * 3);
      return big;
    });
    expect(maxDiff(back.frames, want)).toBe(0);
  });

  it('a few colours (the palette padded past bundling), one colour, and a skewed histogram (code lengths capped at 15) all come back exactly', async () => {
    const two = clip(24, 8, 2, (x, _y, f) => (x + f < 12 ? [250, 10, 10] : [10, 10, 250]));
    const one = clip(8, 8, 1, () => [7, 77, 177]);
    // Fibonacci-like counts: an unlimited Huffman code would be ~25 bits deep.
    const fib = [1, 1];
    while (fib.length < 26) fib.push(fib.at(-1)! + fib.at(-2)!);
    const lengths = codeLengths(fib);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(15);
    expect(lengths.reduce((kraft, l) => kraft + 2 ** -l, 0)).toBeLessThanOrEqual(1);
    let s = 3;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    const skewed = clip(128, 64, 2, () => { const k = Math.min(25, Math.floor(-Math.log2(rand() + 1e-9) * 1.5)); return [k * 9, 255 - k * 9, (k * 37) & 255]; });
    for (const [w, h, frames] of [[24, 8, two], [8, 8, one], [128, 64, skewed]] as const) {
      const back = await decodeFrames(Buffer.from(encodeWebp({ width: w, height: h, fps: 4, frames })), 'webp');
      expect([back.width, back.height, back.frames.length]).toEqual([w, h, frames.length]);
      expect(maxDiff(back.frames, frames)).toBe(0);
    }
  });

  it.skipIf(!existsSync(CHROMIUM))('Chromium (libwebp) decodes it as an endless animation with the same pixels', async () => {
    const data = Buffer.from(encodeWebp({ width: 64, height: 64, fps: 8, frames: many }));
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.route('http://localhost/', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html>' }));
      await page.goto('http://localhost/');
      const got = await page.evaluate(async (base64) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const decoder = new ImageDecoder({ data: bytes, type: 'image/webp' });
        await decoder.tracks.ready;
        const track = decoder.tracks.selectedTrack!;
        const frames: number[][] = [];
        for (const index of [0, 8, 16]) {
          const { image } = await decoder.decode({ frameIndex: index });
          const canvas = new OffscreenCanvas(image.displayWidth, image.displayHeight);
          const ctx = canvas.getContext('2d')!;
          ctx.drawImage(image, 0, 0);
          image.close();
          const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
          frames.push(Array.from(rgba).filter((_, i) => i % 4 !== 3));
        }
        return { count: track.frameCount, loops: track.repetitionCount, frames };
      }, data.toString('base64'));
      expect([got.count, got.loops]).toEqual([17, Infinity]);
      [0, 8, 16].forEach((f, k) => expect(maxDiff([Uint8Array.from(got.frames[k]!)], [many[f]!]), `frame ${f}`).toBe(0));
    } finally {
      await browser.close();
    }
  }, 60_000);
});
