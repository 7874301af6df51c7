/**
 * The media module against the real ffmpeg/ffprobe: a synthetic clip (a red square sliding right over blue) is
 * encoded to every format, then probed and decoded back, so each test checks numbers the encoder had to get right.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { usePrivateTmpdir } from '../helpers/private-tmpdir.ts';
import {
  decodeFrames,
  encodeClip,
  encodePreview,
  isMediaError,
  MediaErrorCode,
  parseWebp,
  probeClip,
  resolveMediaBinaries,
  type ClipFormat,
  type MediaError,
  type RgbVideo,
} from '../../inference/media/index.ts';
import { encodeClipAtQuality } from '../../inference/media/encode.ts';

const execFileAsync = promisify(execFile);

const FRAMES = 17;
const FPS = 8;
const SQUARE = 20;
const SQUARE_TOP = 54;
const SQUARE_LEFT0 = 8;
const STEP_PER_FRAME = 5;
const RED = [255, 0, 0] as const;
const BLUE = [0, 0, 255] as const;

/**
 * Frame f: blue background, a SQUARE×SQUARE red square with its left edge at SQUARE_LEFT0 + f·step.
 * Keep the square inside the frame: animated WebP merges identical consecutive frames (an all-blue tail).
 */
function slidingSquare(width: number, height: number, frames = FRAMES, step = STEP_PER_FRAME): RgbVideo {
  const list: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(width * height * 3);
    const left = SQUARE_LEFT0 + f * step;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = x >= left && x < left + SQUARE && y >= SQUARE_TOP && y < SQUARE_TOP + SQUARE;
        frame.set(inside ? RED : BLUE, (y * width + x) * 3);
      }
    }
    list.push(frame);
  }
  return { width, height, fps: FPS, frames: list };
}

/** Expected centre x of the square in frame f, in source pixels. */
function expectedCentreX(f: number, step = STEP_PER_FRAME): number {
  return SQUARE_LEFT0 + f * step + (SQUARE - 1) / 2;
}

function pixel(video: RgbVideo, frame: number, x: number, y: number): number[] {
  const data = video.frames[frame];
  if (data === undefined) throw new Error(`no frame ${frame}`);
  const i = (y * video.width + x) * 3;
  return [data[i] ?? -1, data[i + 1] ?? -1, data[i + 2] ?? -1];
}

function expectColour(actual: number[], expected: readonly number[], tolerance: number): void {
  actual.forEach((value, channel) => {
    expect(Math.abs(value - (expected[channel] ?? 0)), `channel ${channel} of [${actual.join(',')}]`).toBeLessThanOrEqual(
      tolerance,
    );
  });
}

/** Centroid x of the "red" pixels (strong red, weak blue) of a frame. */
function redCentroidX(video: RgbVideo, frame: number): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < video.height; y++) {
    for (let x = 0; x < video.width; x++) {
      const [r = 0, , b = 0] = pixel(video, frame, x, y);
      if (r > 150 && b < 100) {
        sum += x;
        count++;
      }
    }
  }
  expect(count, `red pixels in frame ${frame}`).toBeGreaterThan(0);
  return sum / count;
}

/** Top-level MP4 boxes in file order, with their byte offsets. */
function topLevelBoxes(data: Buffer): { type: string; offset: number }[] {
  const boxes: { type: string; offset: number }[] = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    let size = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    if (size === 1) size = Number(data.readBigUInt64BE(offset + 8));
    if (size === 0) size = data.length - offset;
    boxes.push({ type, offset });
    if (size < 8) break;
    offset += size;
  }
  return boxes;
}

async function captureError(promise: Promise<unknown>): Promise<MediaError> {
  try {
    await promise;
  } catch (error) {
    if (isMediaError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** The module's temp folders left in this file's private TMPDIR (see beforeAll). */
async function leftoverTempDirs(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((name) => name.startsWith('animate-media-'));
}

const FORMAT_EXPECTATIONS: Record<ClipFormat, { codec: string; mimeType: string; tolerance: number }> = {
  mp4: { codec: 'h264', mimeType: 'video/mp4', tolerance: 40 },
  gif: { codec: 'gif', mimeType: 'image/gif', tolerance: 40 },
  webp: { codec: 'webp', mimeType: 'image/webp', tolerance: 40 },
};

usePrivateTmpdir('media-test-tmp-');

describe.each(['mp4', 'gif', 'webp'] as const)('encodeClip %s', (format) => {
  const video = slidingSquare(128, 128);
  const expected = FORMAT_EXPECTATIONS[format];

  it('produces the right codec, size and frame count, and decodes back to the same picture', async () => {
    const clip = await encodeClip(video, { format });
    expect(clip).toMatchObject({ mimeType: expected.mimeType, width: 128, height: 128, frames: FRAMES, fps: FPS });

    const probe = await probeClip(clip.data);
    expect(probe.codec).toBe(expected.codec);
    expect(probe.width).toBe(128);
    expect(probe.height).toBe(128);
    expect(probe.frames).toBe(FRAMES);
    // GIF stores delays in 1/100 s, so 1/8 s becomes 0.12 s per frame.
    expect(probe.durationSeconds).toBeCloseTo(FRAMES / FPS, format === 'gif' ? 1 : 2);
    if (format === 'mp4') expect(probe.pixFmt).toBe('yuv420p');

    const decoded = await decodeFrames(clip.data, format);
    expect(decoded.width).toBe(128);
    expect(decoded.height).toBe(128);
    expect(decoded.frames).toHaveLength(FRAMES);
    for (const f of [0, 8, 16]) {
      const centreX = Math.round(expectedCentreX(f));
      expectColour(pixel(decoded, f, centreX, SQUARE_TOP + SQUARE / 2), RED, expected.tolerance);
      expectColour(pixel(decoded, f, centreX, 10), BLUE, expected.tolerance);
      expectColour(pixel(decoded, f, 127, 127), BLUE, expected.tolerance);
      expect(redCentroidX(decoded, f)).toBeCloseTo(expectedCentreX(f), 0);
    }
    const centroids = decoded.frames.map((_, f) => redCentroidX(decoded, f));
    for (let f = 1; f < FRAMES; f++) expect(centroids[f]).toBeGreaterThan(centroids[f - 1] ?? Infinity);
  });

  it('is deterministic: two encodes of the same frames are bit-identical', async () => {
    const first = await encodeClip(video, { format });
    const second = await encodeClip(slidingSquare(128, 128), { format });
    expect(second.data.equals(first.data)).toBe(true);
    const other = await encodeClip(slidingSquare(128, 128, FRAMES - 1), { format });
    expect(other.data.equals(first.data)).toBe(false);
  });

  it('upscales by an integer factor with nearest-neighbour pixels', async () => {
    const clip = await encodeClip(video, { format, upscale: 2 });
    expect(clip.width).toBe(256);
    expect(clip.height).toBe(256);
    const probe = await probeClip(clip.data);
    expect([probe.width, probe.height, probe.frames]).toEqual([256, 256, FRAMES]);
    const decoded = await decodeFrames(clip.data);
    expect(redCentroidX(decoded, 4)).toBeCloseTo(expectedCentreX(4) * 2 + 0.5, 0);
  });
});

describe('MP4 specifics', () => {
  it('puts the moov atom before mdat (faststart) and tags BT.709', async () => {
    const clip = await encodeClip(slidingSquare(128, 128), { format: 'mp4' });
    const boxes = topLevelBoxes(clip.data);
    expect(boxes[0]?.type).toBe('ftyp');
    const moov = boxes.find((box) => box.type === 'moov');
    const mdat = boxes.find((box) => box.type === 'mdat');
    expect(moov).toBeDefined();
    expect(mdat).toBeDefined();
    expect(moov!.offset).toBeLessThan(mdat!.offset);
    expect((await probeClip(clip.data)).colorSpace).toBe('bt709');
  });

  it('rounds odd sizes up to even ones, repeating the edge pixels', async () => {
    const clip = await encodeClip(slidingSquare(129, 127), { format: 'mp4' });
    expect([clip.width, clip.height]).toEqual([130, 128]);
    const probe = await probeClip(clip.data);
    expect([probe.width, probe.height, probe.frames, probe.pixFmt]).toEqual([130, 128, FRAMES, 'yuv420p']);
    const decoded = await decodeFrames(clip.data, 'mp4');
    // The added column and row repeat the blue edge instead of being black.
    expectColour(pixel(decoded, 0, 129, 64), BLUE, 40);
    expectColour(pixel(decoded, 0, 64, 127), BLUE, 40);
  });

  it('odd sizes with an odd upscale still come out even', async () => {
    const clip = await encodeClip(slidingSquare(65, 33, 3), { format: 'mp4', upscale: 3 });
    const probe = await probeClip(clip.data);
    expect([probe.width, probe.height]).toEqual([196, 100]);
  });

  it('makes one encode at the best quality; a byte limit is refused (fitClip fits clips to one)', async () => {
    const video = slidingSquare(64, 64, 5);
    const clip = await encodeClip(video, { format: 'mp4' });
    const best = await encodeClipAtQuality(video, { format: 'mp4', upscale: 1, qualityStep: 0 });
    expect(clip.data.equals(best.data)).toBe(true);
    // Untyped callers of the old option get a clear refusal, not a silently unbounded clip.
    const refused = await captureError(encodeClip(video, { format: 'mp4', maxBytes: 100 } as Parameters<typeof encodeClip>[1]));
    expect(refused.code).toBe(MediaErrorCode.InvalidOptions);
    expect(refused.message).toMatch(/fitClip/);
  });
});

describe('loop flags', () => {
  it('animated WebP loops forever', async () => {
    const clip = await encodeClip(slidingSquare(64, 64, 5), { format: 'webp' });
    const info = parseWebp(clip.data);
    expect(info.animated).toBe(true);
    expect(info.loopCount).toBe(0);
    expect(info.frames).toHaveLength(5);
    expect(info.frames.every((frame) => frame.durationMs === 125)).toBe(true);
  });

  it('GIF carries a NETSCAPE2.0 loop-forever extension', async () => {
    const clip = await encodeClip(slidingSquare(64, 64, 5), { format: 'gif' });
    const at = clip.data.indexOf('NETSCAPE2.0', 0, 'latin1');
    expect(at).toBeGreaterThan(0);
    // sub-block: size 3, id 1, loop count (uint16 LE) 0 = forever
    expect([...clip.data.subarray(at + 11, at + 15)]).toEqual([3, 1, 0, 0]);
  });
});

/** Chromium stands in for the chat clients: Discord's desktop app is Electron, and Slack's is too. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('in a real browser (Chromium)', () => {
  it('plays the MP4 inline and decodes WebP/GIF as endlessly looping animations', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      // WebCodecs' ImageDecoder needs a secure context; http://localhost is one. Served from memory, no socket.
      await page.route('http://localhost/', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html>' }));
      await page.goto('http://localhost/');
      const video = slidingSquare(128, 128);
      const mp4 = await encodeClip(video, { format: 'mp4' });
      const played = await page.evaluate(async (base64) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const element = document.createElement('video');
        element.muted = true;
        element.src = URL.createObjectURL(new Blob([bytes], { type: 'video/mp4' }));
        await element.play();
        await new Promise((resolve) => setTimeout(resolve, 400));
        const canvas = document.createElement('canvas');
        canvas.width = element.videoWidth;
        canvas.height = element.videoHeight;
        const context = canvas.getContext('2d');
        context?.drawImage(element, 0, 0);
        return {
          width: element.videoWidth,
          height: element.videoHeight,
          duration: element.duration,
          advanced: element.currentTime > 0,
          corner: Array.from(context?.getImageData(5, 5, 1, 1).data ?? []),
        };
      }, mp4.data.toString('base64'));
      expect(played).toMatchObject({ width: 128, height: 128, advanced: true });
      expect(played.duration).toBeCloseTo(FRAMES / FPS, 2);
      expectColour(played.corner.slice(0, 3), BLUE, 40);

      for (const format of ['webp', 'gif'] as const) {
        const clip = await encodeClip(video, { format });
        const decoded = await page.evaluate(
          async ({ base64, type }) => {
            const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
            const decoder = new ImageDecoder({ data: bytes, type });
            await decoder.tracks.ready;
            const track = decoder.tracks.selectedTrack;
            return { frames: track?.frameCount, loops: track?.repetitionCount, animated: track?.animated };
          },
          { base64: clip.data.toString('base64'), type: clip.mimeType },
        );
        expect(decoded, format).toEqual({ frames: FRAMES, loops: Infinity, animated: true });
      }
    } finally {
      await browser.close();
    }
  });
});

describe('encodePreview', () => {
  it.each(['webp', 'gif'] as const)('makes a small animated %s, enlarging tiny frames to maxSide', async (format) => {
    const step = 2; // 8 + 16·2 + 20 = 60 < 64: the square stays in view
    const preview = await encodePreview(slidingSquare(64, 64, FRAMES, step), { format, maxSide: 128 });
    expect(preview).toMatchObject({ width: 128, height: 128, frames: FRAMES, mimeType: `image/${format}` });
    expect(preview.data.length).toBeLessThan(40_000);
    const probe = await probeClip(preview.data);
    expect(probe.codec).toBe(format);
    expect([probe.width, probe.height]).toEqual([128, 128]);
    expect(probe.frames).toBeGreaterThan(1);
    expect(probe.frames).toBe(FRAMES);
    const decoded = await decodeFrames(preview.data);
    // Nearest-neighbour ×2: source column x covers preview columns 2x and 2x+1.
    for (const f of [0, 8, 16]) expect(redCentroidX(decoded, f)).toBeCloseTo(expectedCentreX(f, step) * 2 + 0.5, 0);
  });

  it('shrinks large frames to fit maxSide, keeping the aspect ratio', async () => {
    const preview = await encodePreview(slidingSquare(128, 64, 3), { format: 'webp', maxSide: 32 });
    expect([preview.width, preview.height]).toEqual([32, 16]);
    const probe = await probeClip(preview.data);
    expect([probe.width, probe.height, probe.frames]).toEqual([32, 16, 3]);
  });
});

describe('errors', () => {
  it('rejects a frame of the wrong length, naming the frame and the expected size', async () => {
    const video = slidingSquare(32, 32, 3);
    video.frames[1] = new Uint8Array(100);
    const error = await captureError(encodeClip(video, { format: 'mp4' }));
    expect(error.code).toBe(MediaErrorCode.InvalidVideo);
    expect(error.message).toMatch(/frame 1 has 100 bytes; expected 3072/);
  });

  it.each([
    ['fps 0', { fps: 0 }, /fps/],
    ['no frames', { frames: [] }, /at least 1 frame/],
    ['width 0', { width: 0 }, /width/],
    ['fractional height', { height: 31.5 }, /height/],
  ])('rejects %s as INVALID_VIDEO', async (_name, patch, message) => {
    const video = { ...slidingSquare(32, 32, 2), ...patch } as RgbVideo;
    const error = await captureError(encodePreview(video, { format: 'gif', maxSide: 64 }));
    expect(error.code).toBe(MediaErrorCode.InvalidVideo);
    expect(error.message).toMatch(message);
  });

  it('rejects out-of-range options as INVALID_OPTIONS', async () => {
    const video = slidingSquare(32, 32, 2);
    const badUpscale = await captureError(encodeClip(video, { format: 'mp4', upscale: 5 }));
    expect(badUpscale.code).toBe(MediaErrorCode.InvalidOptions);
    expect(badUpscale.message).toMatch(/upscale/);
    const badFormat = await captureError(encodeClip(video, { format: 'avi' as ClipFormat }));
    expect(badFormat.code).toBe(MediaErrorCode.InvalidOptions);
    expect(badFormat.message).toMatch(/mp4.*gif.*webp/);
    const badSide = await captureError(encodePreview(video, { format: 'webp', maxSide: 2 }));
    expect(badSide.code).toBe(MediaErrorCode.InvalidOptions);
  });

  it('aborting kills ffmpeg, rejects with ABORTED and leaves no temp files', async () => {
    expect(await leftoverTempDirs()).toEqual([]);
    const big = slidingSquare(512, 512, 33);
    const controller = new AbortController();
    const encoding = encodeClip(big, { format: 'mp4', upscale: 4, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 50);
    const error = await captureError(encoding);
    expect(error.code).toBe(MediaErrorCode.Aborted);
    expect(error.message).toMatch(/user cancelled/);
    expect(await leftoverTempDirs()).toEqual([]);

    const already = new AbortController();
    already.abort();
    expect((await captureError(encodePreview(big, { format: 'gif', maxSide: 64, signal: already.signal }))).code).toBe(
      MediaErrorCode.Aborted,
    );
  });

  it('a bogus FFMPEG_PATH or FFPROBE_PATH is FFMPEG_NOT_FOUND naming the variable', async () => {
    const missingFfmpeg = await captureError(
      resolveMediaBinaries({ env: { ...process.env, FFMPEG_PATH: '/nonexistent/ffmpeg' } }),
    );
    expect(missingFfmpeg.code).toBe(MediaErrorCode.FfmpegNotFound);
    expect(missingFfmpeg.message).toMatch(/FFMPEG_PATH.*\/nonexistent\/ffmpeg/);

    const missingFfprobe = await captureError(
      resolveMediaBinaries({ env: { ...process.env, FFPROBE_PATH: '/nonexistent/ffprobe' } }),
    );
    expect(missingFfprobe.code).toBe(MediaErrorCode.FfmpegNotFound);
    expect(missingFfprobe.message).toMatch(/FFPROBE_PATH/);

    // A file that exists but is not a capable ffmpeg.
    const notFfmpeg = await captureError(resolveMediaBinaries({ env: { ...process.env, FFMPEG_PATH: '/bin/true' } }));
    expect(notFfmpeg.code).toBe(MediaErrorCode.FfmpegUnsuitable);
    expect(notFfmpeg.message).toMatch(/libx264/);
  });

  it('encodeClip in a process with a bogus FFMPEG_PATH fails with FFMPEG_NOT_FOUND', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'media-test-'));
    try {
      const script = path.join(dir, 'encode.mts');
      const moduleUrl = new URL('../../inference/media/index.ts', import.meta.url).href;
      await writeFile(
        script,
        `import { encodeClip } from ${JSON.stringify(moduleUrl)};\n` +
          'const frames = [new Uint8Array(4 * 4 * 3)];\n' +
          "encodeClip({ width: 4, height: 4, fps: 8, frames }, { format: 'mp4' }).then(\n" +
          "  () => console.log(JSON.stringify({ ok: true })),\n" +
          '  (error) => console.log(JSON.stringify({ code: error.code, message: error.message })),\n' +
          ');\n',
      );
      const tsx = path.resolve('node_modules/.bin/tsx');
      const { stdout } = await execFileAsync(tsx, [script], {
        env: { ...process.env, FFMPEG_PATH: '/nonexistent/ffmpeg' },
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { code?: string; message?: string };
      expect(result.code).toBe('FFMPEG_NOT_FOUND');
      expect(result.message).toMatch(/FFMPEG_PATH/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('probing or decoding garbage fails with PROBE_FAILED / DECODE_FAILED quoting ffprobe', async () => {
    const garbage = Buffer.from('this is not a video at all, just some text bytes');
    const probeError = await captureError(probeClip(garbage));
    expect(probeError.code).toBe(MediaErrorCode.ProbeFailed);
    expect(probeError.stderrTail.length).toBeGreaterThan(0);
    expect(probeError.message).toContain(probeError.stderrTail.at(-1));
    const decodeError = await captureError(decodeFrames(garbage));
    expect(decodeError.code).toBe(MediaErrorCode.DecodeFailed);
  });
});
