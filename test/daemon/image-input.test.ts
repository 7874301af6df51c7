/**
 * The image of an image-to-video request (inference/media/image-input.ts, shared/wire/image-limits.ts) against the
 * real ffmpeg: each accepted type decoded from bytes made here (PNGs by a small encoder in this file, so their pixels
 * are exact; JPEG, WebP and GIF by ffmpeg from raw RGBA), the crop and letterbox arithmetic on known pixels, every
 * limit's message, a real decompression bomb refused from its header before any decoder runs, and a JPEG's EXIF
 * orientation (APP1 bytes written here into JPEGs ffmpeg encodes) applied before the fit, all 8 values checked on
 * pixels against the Exif table, malformed and truncated segments read as 1.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { usePrivateTmpdir } from '../helpers/private-tmpdir.ts';
import { getMediaBinaries } from '../../inference/media/index.ts';
import { decodeImageInput, fitRect, ImageInputError, ImageInputErrorCode, inspectImage } from '../../inference/media/image-input.ts';
import { checkImage, MAX_IMAGE_BYTES } from '../../shared/wire/image-limits.ts';
import { checkImageAttachment } from '../../bots/core/request.ts';
import { InvalidOptionsError } from '../../bots/core/errors.ts';
import { imageOrientation, jpegOrientation, orientationFilters, uprightSize, type ExifOrientation } from '../../inference/media/exif-orientation.ts';
import { exifApp1, orientationTiff, PNG_SIGNATURE, pngChunk, pngWithExif, riffChunk, tiffBlock, tiffShortValue, webpWithExif, withSegmentsAfterSoi } from '../helpers/test-images.ts';

usePrivateTmpdir('image-input-test-tmp-');

type Pixel = (x: number, y: number) => [number, number, number, number];

function rgbaOf(width: number, height: number, pixel: Pixel): Buffer {
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out.set(pixel(x, y), (y * width + x) * 4);
  return out;
}


/** A PNG (RGBA, 8 bits, no filtering) whose IHDR may claim other sides than the rows given (for bombs and lies). */
function png(width: number, height: number, pixel: Pixel, claimed = { width, height }): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(claimed.width, 0);
  ihdr.writeUInt32BE(claimed.height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const rgba = rgbaOf(width, height, pixel);
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) rows.push(Buffer.from([0]), rgba.subarray(y * width * 4, (y + 1) * width * 4));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.concat(rows))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Frames of raw RGBA through the real ffmpeg into `outputArgs`' format. */
async function ffmpegImage(width: number, height: number, frames: Pixel[], outputArgs: string[], ext: string): Promise<Buffer> {
  const { ffmpegPath } = await getMediaBinaries();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'img-'));
  try {
    const raw = path.join(dir, 'in.rgba');
    const out = path.join(dir, `out.${ext}`);
    await writeFile(raw, Buffer.concat(frames.map((f) => rgbaOf(width, height, f))));
    await new Promise<void>((resolve, reject) =>
      execFile(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-video_size', `${width}x${height}`, '-framerate', '2', '-i', raw, ...outputArgs, '-y', out], (err) => (err ? reject(err) : resolve())),
    );
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const solid = (r: number, g: number, b: number, a = 255): Pixel => () => [r, g, b, a];
/** A pattern with a different value at every pixel, so any offset shows. */
const ramp: Pixel = (x, y) => [x * 4, y * 5, 100, 255]; // x < 64, y < 51 stay within a byte

function at(img: { width: number; rgb: Uint8Array }, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.rgb[i]!, img.rgb[i + 1]!, img.rgb[i + 2]!];
}

function maxDiff(a: number[], b: number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

async function refusal(data: Uint8Array, mimeType = ''): Promise<ImageInputError> {
  const err = await decodeImageInput(data, { mimeType, width: 32, height: 32 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageInputError);
  return err as ImageInputError;
}

describe('fitRect: the crop and letterbox arithmetic', () => {
  it('crop covers the clip with one exact side and cuts the middle of the other', () => {
    expect(fitRect({ width: 64, height: 32 }, { width: 32, height: 32 })).toEqual({ scaledWidth: 64, scaledHeight: 32, x: 16, y: 0 });
    expect(fitRect({ width: 20, height: 50 }, { width: 20, height: 20 })).toEqual({ scaledWidth: 20, scaledHeight: 50, x: 0, y: 15 });
    expect(fitRect({ width: 100, height: 50 }, { width: 64, height: 64 })).toEqual({ scaledWidth: 128, scaledHeight: 64, x: 32, y: 0 });
    // 33×10 → 16×16: ×1.6, 52.8 rounds to 53, 37 pixels over: 18 from the left, 19 from the right.
    expect(fitRect({ width: 33, height: 10 }, { width: 16, height: 16 })).toEqual({ scaledWidth: 53, scaledHeight: 16, x: 18, y: 0 });
    expect(fitRect({ width: 256, height: 256 }, { width: 128, height: 128 })).toEqual({ scaledWidth: 128, scaledHeight: 128, x: 0, y: 0 });
  });

  it('letterbox fits inside with one exact side and centres the other on bars', () => {
    expect(fitRect({ width: 64, height: 32 }, { width: 32, height: 32 }, 'letterbox')).toEqual({ scaledWidth: 32, scaledHeight: 16, x: 0, y: 8 });
    expect(fitRect({ width: 10, height: 33 }, { width: 16, height: 16 }, 'letterbox')).toEqual({ scaledWidth: 5, scaledHeight: 16, x: 5, y: 0 });
  });
});

describe('decodeImageInput: each type, through the real ffmpeg', () => {
  it('PNG: a wide image is centre-cropped pixel for pixel (no scaling at ×1)', async () => {
    const img = await decodeImageInput(png(64, 32, ramp), { width: 32, height: 32 });
    expect(img).toMatchObject({ width: 32, height: 32, source: { type: 'png', width: 64, height: 32 } });
    expect(img.rgb.length).toBe(32 * 32 * 3);
    for (const [x, y] of [[0, 0], [31, 0], [0, 31], [31, 31], [13, 7]] as const) {
      expect(at(img, x, y)).toEqual(ramp(x + 16, y).slice(0, 3));
    }
  });

  it('PNG: a tall image loses rows evenly from top and bottom', async () => {
    const img = await decodeImageInput(png(20, 50, ramp), { width: 20, height: 20 });
    expect(at(img, 0, 0)).toEqual(ramp(0, 15).slice(0, 3));
    expect(at(img, 19, 19)).toEqual(ramp(19, 34).slice(0, 3));
  });

  it('PNG: shrinking averages areas (4×4 blocks become pixels) after the crop arithmetic', async () => {
    const block: Pixel = (x, y) => [Math.floor(x / 4) * 16, Math.floor(y / 4) * 8, 200, 255];
    // 64×128 → 16×16: ×0.25 gives 16×32, 8 rows cut from the top.
    const img = await decodeImageInput(png(64, 128, block), { width: 16, height: 16 });
    for (const [x, y] of [[0, 0], [15, 15], [5, 9]] as const) {
      expect(maxDiff(at(img, x, y), [x * 16, (y + 8) * 8, 200])).toBeLessThanOrEqual(1);
    }
  });

  it('PNG letterbox: scaled inside, black bars above and below', async () => {
    const block: Pixel = (x, y) => [Math.floor(x / 2) * 8, 50 + Math.floor(y / 2) * 8, 90, 255];
    const img = await decodeImageInput(png(64, 32, block), { width: 32, height: 32, fit: 'letterbox' });
    expect(at(img, 10, 0)).toEqual([0, 0, 0]);
    expect(at(img, 10, 7)).toEqual([0, 0, 0]);
    expect(at(img, 10, 24)).toEqual([0, 0, 0]);
    expect(maxDiff(at(img, 10, 8), [80, 50, 90])).toBeLessThanOrEqual(1);
    expect(maxDiff(at(img, 31, 23), [31 * 8, 50 + 15 * 8, 90])).toBeLessThanOrEqual(1);
  });

  it('PNG with alpha: composited over black', async () => {
    const img = await decodeImageInput(png(16, 16, (x) => (x < 8 ? [200, 100, 50, 0] : [200, 100, 50, 128])), { width: 16, height: 16 });
    expect(at(img, 2, 2)).toEqual([0, 0, 0]);
    expect(at(img, 12, 2)).toEqual([100, 50, 25]);
  });

  it('JPEG: decoded to RGB within JPEG error, upscaled to the clip', async () => {
    const quads: Pixel = (x, y) => (x < 16 ? (y < 16 ? [220, 30, 30, 255] : [30, 200, 40, 255]) : y < 16 ? [30, 40, 210, 255] : [240, 240, 40, 255]);
    const jpeg = await ffmpegImage(32, 32, [quads], ['-c:v', 'mjpeg', '-q:v', '1', '-pix_fmt', 'yuvj444p', '-f', 'image2'], 'jpg');
    expect(inspectImage(jpeg, 'image/jpeg')).toEqual({ type: 'jpeg', width: 32, height: 32 });
    const img = await decodeImageInput(jpeg, { width: 64, height: 64, mimeType: 'image/jpeg' });
    const corners = [at(img, 8, 8), at(img, 8, 56), at(img, 56, 8), at(img, 56, 56)];
    const expected = [[220, 30, 30], [30, 200, 40], [30, 40, 210], [240, 240, 40]];
    const diffs = corners.map((c, i) => maxDiff(c, expected[i]!));
    console.info(`JPEG quadrant errors: ${diffs.join(', ')}`);
    for (const d of diffs) expect(d).toBeLessThanOrEqual(8);
  });

  it('WebP (lossless still): exact pixels', async () => {
    const webp = await ffmpegImage(32, 32, [ramp], ['-c:v', 'libwebp', '-lossless', '1', '-f', 'webp'], 'webp');
    expect(inspectImage(webp)).toEqual({ type: 'webp', width: 32, height: 32 });
    const img = await decodeImageInput(webp, { width: 32, height: 32 });
    expect(at(img, 5, 3)).toEqual(ramp(5, 3).slice(0, 3));
    expect(at(img, 31, 31)).toEqual(ramp(31, 31).slice(0, 3));
  });

  it('animated WebP: its first frame', async () => {
    const webp = await ffmpegImage(32, 32, [solid(250, 0, 0), solid(0, 0, 250)], ['-c:v', 'libwebp_anim', '-lossless', '1', '-loop', '0', '-f', 'webp'], 'webp');
    const img = await decodeImageInput(webp, { width: 32, height: 32 });
    expect(at(img, 16, 16)).toEqual([250, 0, 0]);
  });

  it('GIF: its first frame', async () => {
    const gif = await ffmpegImage(32, 32, [solid(255, 0, 0), solid(0, 0, 255)], ['-f', 'gif'], 'gif');
    expect(inspectImage(gif, 'image/gif')).toEqual({ type: 'gif', width: 32, height: 32 });
    const img = await decodeImageInput(gif, { width: 32, height: 32 });
    // ffmpeg's GIF encoder quantises to its fixed 3-3-2 palette: red 255 is stored as 252.
    expect(maxDiff(at(img, 3, 3), [255, 0, 0])).toBeLessThanOrEqual(4);
    expect(maxDiff(at(img, 30, 30), [255, 0, 0])).toBeLessThanOrEqual(4);
  });

  it('a PNG whose data is garbage behind a good header is IMAGE_UNDECODABLE, with no server path in the message', async () => {
    const good = png(32, 32, ramp);
    const broken = Buffer.concat([good.subarray(0, 33), pngChunk('IDAT', Buffer.from('not zlib at all, not at all')), pngChunk('IEND', Buffer.alloc(0))]);
    const err = await refusal(broken);
    expect(err.code).toBe(ImageInputErrorCode.Undecodable);
    expect(err.field).toBe('image');
    expect(err.message).toBe('the PNG image (32×32) cannot be decoded: its data is damaged or truncated, or uses a variant the decoder lacks');
    expect(err.message).not.toMatch(/\//);
  });

  it('a cancelled request stops the decode with the request\'s reason', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by the requester');
    controller.abort(reason);
    await expect(decodeImageInput(png(32, 32, ramp), { width: 32, height: 32, signal: controller.signal })).rejects.toBe(reason);
  });
});

describe('the limits (shared/wire/image-limits.ts), each with its message', () => {
  const small = png(32, 32, ramp);

  it('bytes: over 10 MiB', async () => {
    const big = Buffer.concat([small, Buffer.alloc(MAX_IMAGE_BYTES + 1 - small.length)]);
    const err = await refusal(big);
    expect(err.code).toBe(ImageInputErrorCode.Refused);
    expect([err.field, err.message]).toEqual(['image', 'is 10.0 MiB (10485761 bytes); at most 10 MiB (10485760 bytes) allowed']);
    expect(checkImage(big.subarray(0, MAX_IMAGE_BYTES))).toEqual({ header: { type: 'png', width: 32, height: 32 } });
  });

  it('type: sniffed from the magic bytes; a BMP is none of ours', async () => {
    const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(64)]);
    const err = await refusal(bmp);
    expect([err.field, err.message]).toEqual(['image', 'is not an image of an accepted type (its first bytes are not those of any); allowed: PNG, JPEG, WEBP, GIF']);
  });

  it('image_mime_type: must be one of the four, must agree with the bytes, and needs an image', async () => {
    let err = await refusal(small, 'image/bmp');
    expect([err.field, err.message]).toEqual(['image_mime_type', '"image/bmp" is not supported; allowed: image/png, image/jpeg, image/webp, image/gif']);
    err = await refusal(small, 'image/jpeg');
    expect([err.field, err.message]).toEqual(['image_mime_type', 'says "image/jpeg" but the image is a PNG (image/png); send the matching type, or leave it empty to have it read from the bytes']);
    err = await refusal(new Uint8Array(0), 'image/png');
    expect([err.field, err.message]).toEqual(['image_mime_type', '"image/png" is given without an image; send the image with it, or leave both empty']);
    // Letter case and parameters do not matter.
    expect(inspectImage(small, ' IMAGE/PNG; charset=binary')).toEqual({ type: 'png', width: 32, height: 32 });
  });

  it('header: a PNG cut short before its IHDR, a JPEG with no frame header', async () => {
    let err = await refusal(small.subarray(0, 20));
    expect([err.field, err.message]).toEqual(['image', 'looks like a PNG but its header cannot be read (no IHDR chunk after the signature)']);
    err = await refusal(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xda, 0x00, 0x02]));
    expect(err.message).toBe('looks like a JPEG but its header cannot be read (no frame header (SOF) before the image data)');
  });

  it('dimensions: at least 16×16', async () => {
    const err = await refusal(png(8, 40, ramp));
    expect([err.field, err.message]).toEqual(['image', 'is 8×40 pixels; at least 16×16 needed']);
  });

  it('dimensions: at most 4096×4096, read from the header of each type', async () => {
    const jpegSof = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x13, 0x88, 0x0f, 0xa0, 0x03]); // 4000 wide, 5000 high
    expect((await refusal(jpegSof)).message).toBe('is 4000×5000 pixels; at most 4096×4096 allowed');
    const gif = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([0xff, 0xff, 0x10, 0x00]), Buffer.alloc(8)]);
    expect((await refusal(gif)).message).toBe('is 65535×16 pixels; at most 4096×4096 allowed');
    const vp8x = Buffer.alloc(30);
    vp8x.write('RIFF', 0, 'latin1');
    vp8x.write('WEBPVP8X', 8, 'latin1');
    vp8x.writeUIntLE(16383, 24, 3);
    vp8x.writeUIntLE(99, 27, 3);
    expect((await refusal(vp8x)).message).toBe('is 16384×100 pixels; at most 4096×4096 allowed');
  });

  it('a real decompression bomb (a valid 5000×5000 PNG, 25 MB inflated) is refused from its header, before decoding', async () => {
    const started = performance.now();
    // Greyscale (colour type 0): 25 MB of rows to deflate here, which the header alone refuses there.
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(5000, 0);
    ihdr.writeUInt32BE(5000, 4);
    ihdr.set([8, 0, 0, 0, 0], 8);
    const rows = Buffer.alloc(5001 * 5000);
    const bomb = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows, { level: 1 })), pngChunk('IEND', Buffer.alloc(0))]);
    const madeMs = performance.now() - started;
    console.info(`bomb: ${bomb.length} bytes for ${5000 * 5000} bytes of pixels (made in ${madeMs.toFixed(0)} ms)`);
    expect(bomb.length).toBeLessThan(MAX_IMAGE_BYTES);
    const t0 = performance.now();
    const err = await refusal(bomb);
    const refusedMs = performance.now() - t0;
    console.info(`bomb refused in ${refusedMs.toFixed(1)} ms`);
    // IMAGE_REFUSED, not a decode: the decoder would have taken it (it is a valid PNG) or failed as IMAGE_UNDECODABLE.
    expect(err.code).toBe(ImageInputErrorCode.Refused);
    expect(err.message).toBe('is 5000×5000 pixels; at most 4096×4096 allowed');
    expect(refusedMs).toBeLessThan(500);
  });

  it('a PNG whose header lies small over big rows decodes at the header\'s size, so the bound holds', async () => {
    // The header says 32×32; the data holds 64 rows of 64. The decoder reads only what the header allows.
    const liar = png(64, 64, ramp, { width: 32, height: 32 });
    const img = await decodeImageInput(liar, { width: 32, height: 32 });
    expect(img.source).toEqual({ type: 'png', width: 32, height: 32 });
    expect(img.rgb.length).toBe(32 * 32 * 3);
  });
});

describe('the bot core applies the same rules before sending (bots/core/request.ts)', () => {
  it('an attachment within the limits passes; one outside is an InvalidOptionsError on `image`, worded for people', () => {
    expect(() => checkImageAttachment({ bytes: png(32, 32, ramp), mimeType: 'image/png' })).not.toThrow();
    const attempt = (image: Parameters<typeof checkImageAttachment>[0]) => {
      try {
        checkImageAttachment(image);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).option).toBe('image');
        return (err as Error).message;
      }
      throw new Error('not refused');
    };
    expect(attempt({ bytes: png(16, 16, solid(0, 0, 0), { width: 5000, height: 5000 }), name: 'big.png' })).toBe('The attached image "big.png" is 5000×5000 pixels; at most 4096×4096 allowed.');
    expect(attempt({ bytes: png(32, 32, ramp), mimeType: 'image/gif' })).toBe('The attached image\'s type says "image/gif" but the image is a PNG (image/png); send the matching type, or leave it empty to have it read from the bytes.');
  });
});

describe('EXIF orientation (inference/media/exif-orientation.ts), applied before the fit', () => {
  const RED: [number, number, number] = [220, 30, 30];
  const GREEN: [number, number, number] = [30, 200, 40];
  const BLUE: [number, number, number] = [30, 40, 210];
  const YELLOW: [number, number, number] = [240, 240, 40];
  /** 48×32 stored: red top-left, green top-right, blue bottom-left, yellow bottom-right: every turn and flip shows. */
  const W = 48;
  const H = 32;
  const quads: Pixel = (x, y) => [...(x < W / 2 ? (y < H / 2 ? RED : BLUE) : y < H / 2 ? GREEN : YELLOW), 255];
  const jpegOf = (w: number, h: number, pixel: Pixel) => ffmpegImage(w, h, [pixel], ['-c:v', 'mjpeg', '-q:v', '1', '-pix_fmt', 'yuvj444p', '-f', 'image2'], 'jpg');

  /**
   * The Exif 2.3 table, written out independently of the module: which side of the shown image the stored 0th row
   * and the stored 0th column lie on. From it, where a stored pixel is shown.
   */
  const TABLE: Record<ExifOrientation, [row0: 'top' | 'bottom' | 'left' | 'right', col0: 'top' | 'bottom' | 'left' | 'right']> = {
    1: ['top', 'left'],
    2: ['top', 'right'],
    3: ['bottom', 'right'],
    4: ['bottom', 'left'],
    5: ['left', 'top'],
    6: ['right', 'top'],
    7: ['right', 'bottom'],
    8: ['left', 'bottom'],
  };
  function shownAt(o: ExifOrientation, sx: number, sy: number, w: number, h: number): [number, number] {
    const [row0, col0] = TABLE[o];
    if (row0 === 'top' || row0 === 'bottom') return [col0 === 'left' ? sx : w - 1 - sx, row0 === 'top' ? sy : h - 1 - sy];
    return [row0 === 'left' ? sy : h - 1 - sy, col0 === 'top' ? sx : w - 1 - sx];
  }

  it('all 8 orientations, both byte orders: each quadrant lands where the Exif table says', async () => {
    const stored = await jpegOf(W, H, quads);
    const errors: number[] = [];
    for (const byteOrder of ['MM', 'II'] as const) {
      for (const o of [1, 2, 3, 4, 5, 6, 7, 8] as const) {
        const jpeg = withSegmentsAfterSoi(stored, exifApp1(orientationTiff(o, byteOrder)));
        expect(jpegOrientation(jpeg)).toBe(o);
        const shown = o >= 5 ? { width: H, height: W } : { width: W, height: H };
        // The clip is the shown size, so nothing is scaled or cut: pixels can be checked where they land.
        const img = await decodeImageInput(jpeg, { width: shown.width, height: shown.height, mimeType: 'image/jpeg' });
        expect(img.orientation).toBe(o);
        expect(img.source).toEqual({ type: 'jpeg', width: W, height: H });
        expect(img.rgb.length).toBe(shown.width * shown.height * 3);
        // Centres of the quadrants, and a pixel 3 in from each stored corner (a flip of one side would miss it).
        for (const [sx, sy] of [[12, 8], [36, 8], [12, 24], [36, 24], [3, 3], [W - 4, 3], [3, H - 4], [W - 4, H - 4]] as const) {
          const [dx, dy] = shownAt(o, sx, sy, W, H);
          const d = maxDiff(at(img, dx, dy), quads(sx, sy).slice(0, 3));
          errors.push(d);
          expect(d, `orientation ${o} (${byteOrder}): stored (${sx},${sy}) should show at (${dx},${dy})`).toBeLessThanOrEqual(12);
        }
      }
    }
    console.info(`EXIF orientations: worst JPEG error ${Math.max(...errors)} over ${errors.length} pixels`);
  });

  it('5..8 swap the sides for the fit: a 64×32 photo turned by 6 is a 32×64 portrait, its middle cut out', async () => {
    const bands: [number, number, number][] = [RED, GREEN, BLUE, YELLOW];
    // Stored columns in four bands of 16; orientation 6 (90° clockwise) stacks them top to bottom as shown.
    const stored = await jpegOf(64, 32, (x) => [...bands[Math.floor(x / 16)]!, 255]);
    const img = await decodeImageInput(withSegmentsAfterSoi(stored, exifApp1(orientationTiff(6))), { width: 32, height: 32 });
    // Shown 32×64; the crop keeps rows 16..47: green above blue. Unswapped it would have been red above green.
    for (const x of [2, 16, 29]) {
      expect(maxDiff(at(img, x, 4), GREEN)).toBeLessThanOrEqual(12);
      expect(maxDiff(at(img, x, 27), BLUE)).toBeLessThanOrEqual(12);
    }
  });

  it('the scale uses the shown sides too: 128×64 turned by 8, shrunk to 16×16 without distortion', async () => {
    const bands: [number, number, number][] = [RED, GREEN, BLUE, YELLOW];
    const stored = await jpegOf(128, 64, (x) => [...bands[Math.floor(x / 32)]!, 255]);
    const img = await decodeImageInput(withSegmentsAfterSoi(stored, exifApp1(orientationTiff(8, 'II'))), { width: 16, height: 16 });
    // 8 (90° counter-clockwise) puts stored column 0 at the bottom: shown 64×128 is yellow, blue, green, red from the
    // top; ×0.25 gives 16×32, rows 8..23 kept: blue over green, 8 rows each.
    expect(img.orientation).toBe(8);
    for (const x of [1, 8, 14]) {
      expect(maxDiff(at(img, x, 3), BLUE)).toBeLessThanOrEqual(12);
      expect(maxDiff(at(img, x, 12), GREEN)).toBeLessThanOrEqual(12);
    }
  });

  describe('PNG (eXIf) and WebP (EXIF chunk) carry it too', () => {
    const pngOf = () => png(W, H, quads);
    const webpOf = () => ffmpegImage(W, H, [quads], ['-c:v', 'libwebp', '-lossless', '1', '-f', 'webp'], 'webp');
    /** Writers differ: the PNG extensions say the TIFF structure alone, some tools keep JPEG's "Exif\0\0" in front. */
    const prefixed = (tiff: Buffer) => Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);

    it('all 8 orientations in a PNG and a lossless WebP, with and without the Exif prefix, land as the table says', async () => {
      const storedPng = pngOf();
      const storedWebp = await webpOf();
      let checked = 0;
      for (const o of [1, 2, 3, 4, 5, 6, 7, 8] as const) {
        const tiff = orientationTiff(o, o % 2 ? 'MM' : 'II');
        const cases: [string, Buffer][] = [
          ['png', pngWithExif(storedPng, tiff)],
          ['png', pngWithExif(storedPng, prefixed(tiff))],
          ['webp', webpWithExif(storedWebp, W, H, tiff)],
          ['webp', webpWithExif(storedWebp, W, H, prefixed(tiff))],
        ];
        for (const [type, data] of cases) {
          expect(imageOrientation(type as 'png' | 'webp', data), `${type} orientation ${o}`).toBe(o);
          const shown = o >= 5 ? { width: H, height: W } : { width: W, height: H };
          const img = await decodeImageInput(data, { width: shown.width, height: shown.height });
          expect([img.orientation, img.source]).toEqual([o, { type, width: W, height: H }]);
          for (const [sx, sy] of [[12, 8], [36, 8], [12, 24], [36, 24], [3, 3], [W - 4, H - 4]] as const) {
            const [dx, dy] = shownAt(o, sx, sy, W, H);
            // Lossless: the pixel itself, exactly.
            expect(at(img, dx, dy), `${type} orientation ${o}: stored (${sx},${sy}) should show at (${dx},${dy})`).toEqual(quads(sx, sy).slice(0, 3));
            checked++;
          }
        }
      }
      console.info(`PNG/WebP EXIF orientations: ${checked} pixels exact`);
    });

    it('no Exif, one out of place or cut off, or a lying size: orientation 1, never an error or a read past the end', async () => {
      const storedPng = pngOf();
      const storedWebp = await webpOf();
      const good = orientationTiff(6);
      expect(imageOrientation('png', pngWithExif(storedPng, good))).toBe(6);
      expect(imageOrientation('webp', webpWithExif(storedWebp, W, H, good))).toBe(6);
      const iend = storedPng.length - 12;
      const cases: [string, 'png' | 'webp', Buffer][] = [
        ['a PNG without eXIf', 'png', storedPng],
        ['eXIf after the image data', 'png', Buffer.concat([storedPng.subarray(0, iend), pngChunk('eXIf', good), storedPng.subarray(iend)])],
        ['an eXIf chunk whose length runs past the file', 'png', (() => { const b = pngWithExif(storedPng, good); b.writeUInt32BE(0xfffffff0, 33); return b; })()],
        ['a WebP in the simple layout (no VP8X)', 'webp', storedWebp],
        ['an EXIF chunk after a simple-layout bitstream', 'webp', Buffer.concat([storedWebp, riffChunk('EXIF', good)])],
        ['an EXIF chunk outside the RIFF size', 'webp', (() => { const b = webpWithExif(storedWebp, W, H, good); b.writeUInt32LE(b.length - 8 - 8 - good.length, 4); return b; })()],
        ['an EXIF chunk size past the file', 'webp', (() => { const b = webpWithExif(storedWebp, W, H, good); b.writeUInt32LE(0xfffffff0, b.length - good.length - (good.length & 1) - 4); return b; })()],
      ];
      for (const [why, type, data] of cases) expect(imageOrientation(type, data), why).toBe(1);
      // Every prefix of each good file: no throw, and 6 only once the whole block is there.
      for (const [type, data] of [['png', pngWithExif(storedPng, good)], ['webp', webpWithExif(storedWebp, W, H, good)]] as const) {
        const seen = new Set<number>();
        for (let n = 0; n <= data.length; n++) seen.add(imageOrientation(type, data.subarray(0, n)));
        expect([...seen].sort(), type).toEqual([1, 6]);
      }
      // A damaged Exif block in a sound chunk never fails the request: the image decodes as stored.
      const lying = Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff]), good.subarray(10)]); // too many entries
      const img = await decodeImageInput(pngWithExif(storedPng, lying), { width: W, height: H });
      expect([img.orientation, at(img, 12, 8)]).toEqual([1, RED]);
    });
  });

  it('the filters and sides per value', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((o) => orientationFilters(o as ExifOrientation).join(','))).toEqual(['', 'hflip', 'hflip,vflip', 'vflip', 'transpose=0', 'transpose=1', 'transpose=3', 'transpose=2']);
    expect(uprightSize({ width: 40, height: 30 }, 4)).toEqual({ width: 40, height: 30 });
    expect(uprightSize({ width: 40, height: 30 }, 5)).toEqual({ width: 30, height: 40 });
  });

  describe('malformed, truncated or absent EXIF is orientation 1, never an error', () => {
    const SOF = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x30, 0x03, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    const SOS = Buffer.from([0xff, 0xda, 0x00, 0x02]);
    /** A JPEG skeleton (SOI, segments, SOF, SOS): enough for the reader, which never looks past SOS. */
    const skeleton = (...segments: Buffer[]) => Buffer.concat([Buffer.from([0xff, 0xd8]), ...segments, SOF, SOS, Buffer.alloc(16), Buffer.from([0xff, 0xd9])]);
    const exif = (tiff: Buffer) => Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
    const good = orientationTiff(6);

    it('the skeleton with a good segment reads 6 (so each case below fails only by what it breaks)', () => {
      expect(jpegOrientation(skeleton(exifApp1(good)))).toBe(6);
      expect(jpegOrientation(skeleton(exifApp1(orientationTiff(3, 'II'))))).toBe(3);
    });

    it.each<[string, Buffer]>([
      ['no APP1 at all', skeleton()],
      ['an APP1 that is not Exif (XMP)', skeleton(exifApp1(Buffer.alloc(0), Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>', 'latin1')))],
      ['"Exif" without its two NULs', skeleton(exifApp1(Buffer.alloc(0), Buffer.from('Exif', 'latin1')))],
      ['a TIFF header cut to 6 bytes', skeleton(exifApp1(good.subarray(0, 6)))],
      ['byte order "XX"', skeleton(exifApp1(Buffer.concat([Buffer.from('XX'), good.subarray(2)])))],
      ['magic 43, not 42', skeleton(exifApp1(Buffer.concat([good.subarray(0, 3), Buffer.from([43]), good.subarray(4)])))],
      ['IFD0 offset past the segment', skeleton(exifApp1(Buffer.concat([good.subarray(0, 4), Buffer.from([0, 0, 0xff, 0xf0]), good.subarray(8)])))],
      ['IFD0 offset 0xffffffff', skeleton(exifApp1(Buffer.concat([good.subarray(0, 4), Buffer.from([0xff, 0xff, 0xff, 0xff]), good.subarray(8)])))],
      ['IFD0 offset inside the header (4)', skeleton(exifApp1(Buffer.concat([good.subarray(0, 4), Buffer.from([0, 0, 0, 4]), good.subarray(8)])))],
      ['an entry count larger than the segment holds', skeleton(exifApp1(Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff]), good.subarray(10)])))],
      ['the segment cut inside the Orientation entry', skeleton(exifApp1(good.subarray(0, 10 + 12 + 6)))],
      ['Orientation 0', skeleton(exifApp1(tiffBlock('MM', [{ tag: 0x0112, type: 3, count: 1, value: tiffShortValue(0, 'MM') }])))],
      ['Orientation 9', skeleton(exifApp1(tiffBlock('II', [{ tag: 0x0112, type: 3, count: 1, value: tiffShortValue(9, 'II') }])))],
      ['Orientation 65535', skeleton(exifApp1(tiffBlock('MM', [{ tag: 0x0112, type: 3, count: 1, value: tiffShortValue(65535, 'MM') }])))],
      ['Orientation as a LONG', skeleton(exifApp1(tiffBlock('MM', [{ tag: 0x0112, type: 4, count: 1, value: Buffer.from([0, 0, 0, 6]) }])))],
      ['Orientation with count 0', skeleton(exifApp1(tiffBlock('MM', [{ tag: 0x0112, type: 3, count: 0, value: tiffShortValue(6, 'MM') }])))],
      ['an IFD0 without Orientation', skeleton(exifApp1(tiffBlock('II', [{ tag: 0x010f, type: 2, count: 4, value: Buffer.from('Cam\0') }])))],
      ['the APP1 length past the end of the file', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x40, 0x00]), exif(good)])],
      ['an APP1 length of 1', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01]), exif(good)])],
      ['the Exif segment after the image data (SOS)', Buffer.concat([Buffer.from([0xff, 0xd8]), SOF, SOS, exifApp1(good)])],
      ['a stray byte where a marker should be', Buffer.concat([Buffer.from([0xff, 0xd8, 0x00]), exifApp1(good)])],
      ['not a JPEG', Buffer.concat([Buffer.from([0x89, 0x50]), exifApp1(good)])],
      ['empty', Buffer.alloc(0)],
    ])('%s', (_, data) => {
      expect(jpegOrientation(data)).toBe(1);
    });

    it('fill bytes and an XMP APP1 before it do not hide a good Exif segment', () => {
      const xmp = exifApp1(Buffer.alloc(0), Buffer.from('http://ns.adobe.com/xap/1.0/\0<x/>', 'latin1'));
      expect(jpegOrientation(skeleton(Buffer.from([0xff, 0xff]), xmp, exifApp1(good)))).toBe(6);
    });

    it('every prefix of a real JPEG with a good segment reads 1 until the segment is whole, then 6; none throws', async () => {
      const jpeg = withSegmentsAfterSoi(await jpegOf(W, H, quads), exifApp1(good));
      const segmentEnd = 2 + 4 + 6 + good.length;
      for (let n = 0; n <= jpeg.length; n++) expect(jpegOrientation(jpeg.subarray(0, n))).toBe(n >= segmentEnd ? 6 : 1);
      // And every single byte of the segment overwritten with 0xff: no throw, always a value 1..8.
      for (let i = 2; i < segmentEnd; i++) {
        const damaged = Buffer.from(jpeg);
        damaged[i] = 0xff;
        expect([1, 2, 3, 4, 5, 6, 7, 8]).toContain(jpegOrientation(damaged));
      }
    });

    it('a real JPEG with a damaged Exif segment decodes as stored (orientation 1), not as an error', async () => {
      const stored = await jpegOf(W, H, quads);
      const damaged = withSegmentsAfterSoi(stored, exifApp1(Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff]), good.subarray(10)])));
      const img = await decodeImageInput(damaged, { width: W, height: H });
      expect(img.orientation).toBe(1);
      expect(maxDiff(at(img, 12, 8), RED)).toBeLessThanOrEqual(12);
      expect(maxDiff(at(img, 36, 24), YELLOW)).toBeLessThanOrEqual(12);
    });

    it('an image without Exif is used as stored: a plain PNG, and a GIF (which has none)', async () => {
      expect((await decodeImageInput(png(32, 32, ramp), { width: 32, height: 32 })).orientation).toBe(1);
      const gif = await ffmpegImage(32, 32, [quads], ['-f', 'gif'], 'gif');
      expect((await decodeImageInput(gif, { width: 32, height: 32 })).orientation).toBe(1);
    });
  });
});
