// Images and a request recorder for the image-to-video front-end tests. A PNG written pixel by pixel (zlib +
// CRC-32, tools/eval/png.ts) has contents the tests know exactly, so "the bytes the person attached reached the daemon" is a
// byte comparison; the recorder wraps a real daemon connection and keeps each GenerateRequest it sends (the calls
// still go to the real daemon), so a test can read what the bot asked for.
import { encodePng, pngChunk } from '../../tools/eval/png.ts';
import type { AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';

/** An 8-bit RGB PNG of `width`×`height` filled with `rgb(x, y)` (tools/eval/png.ts writes it). */
export function pngImage(width: number, height: number, rgb: (x: number, y: number) => [number, number, number] = () => [200, 30, 30]): Buffer {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set(rgb(x, y), (y * width + x) * 3);
  return encodePng(width, height, pixels);
}

export { PNG_SIGNATURE, pngChunk } from '../../tools/eval/png.ts';

export interface RecordingConnection extends AnimatorConnection {
  /** Every GenerateRequest sent, in order. */
  readonly sent: GenerateRequest[];
}

/** The same connection, keeping a copy of each GenerateRequest (its calls still go to the daemon). */
export function recordingConnection(connection: AnimatorConnection): RecordingConnection {
  const sent: GenerateRequest[] = [];
  return {
    sent,
    get raw() {
      return connection.raw;
    },
    get address() {
      return connection.address;
    },
    generate(request, opts) {
      sent.push(request);
      return connection.generate(request, opts);
    },
    cancel: (...args) => connection.cancel(...args),
    listModels: (...args) => connection.listModels(...args),
    checkHealth: (...args) => connection.checkHealth(...args),
    waitForReady: (timeoutMs) => connection.waitForReady(timeoutMs),
    close: () => connection.close(),
  };
}

// --- JPEG EXIF (issue #22, orientation): the APP1 bytes written by hand, so a test knows every offset in them. ---

/** One IFD0 entry: tag, TIFF type (3 SHORT, 4 LONG, 2 ASCII...), count, and the 4-byte value field as written. */
export interface TiffEntry {
  tag: number;
  type: number;
  count: number;
  /** The value field's 4 bytes, already in the TIFF's byte order (see `tiffShortValue`). */
  value: Buffer;
}

/** A SHORT left-justified in a 4-byte value field, in the byte order given. */
export function tiffShortValue(value: number, byteOrder: 'II' | 'MM'): Buffer {
  const field = Buffer.alloc(4);
  if (byteOrder === 'II') field.writeUInt16LE(value, 0);
  else field.writeUInt16BE(value, 0);
  return field;
}

/** A TIFF structure: header ("II"/"MM", 42, IFD0 at 8), IFD0 with `entries`, next-IFD 0, then `tail` bytes. */
export function tiffBlock(byteOrder: 'II' | 'MM', entries: TiffEntry[], tail: Buffer = Buffer.alloc(0)): Buffer {
  const le = byteOrder === 'II';
  const out = Buffer.alloc(8 + 2 + entries.length * 12 + 4);
  out.write(byteOrder, 0, 'latin1');
  const u16 = (v: number, at: number) => (le ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  u16(42, 2);
  u32(8, 4);
  u16(entries.length, 8);
  entries.forEach((e, i) => {
    const at = 10 + i * 12;
    u16(e.tag, at);
    u16(e.type, at + 2);
    u32(e.count, at + 4);
    e.value.copy(out, at + 8, 0, 4);
  });
  return Buffer.concat([out, tail]);
}

/**
 * The TIFF block of a camera-like Exif segment: a Make entry pointing at its text after IFD0 (so a reader must
 * skip an entry whose value lies elsewhere), then Orientation = `orientation` as a SHORT.
 */
export function orientationTiff(orientation: number, byteOrder: 'II' | 'MM' = 'MM'): Buffer {
  const make = Buffer.from('TestCam\0', 'latin1');
  const makeOffset = Buffer.alloc(4);
  const makeAt = 8 + 2 + 2 * 12 + 4; // just after IFD0
  if (byteOrder === 'II') makeOffset.writeUInt32LE(makeAt, 0);
  else makeOffset.writeUInt32BE(makeAt, 0);
  return tiffBlock(byteOrder, [
    { tag: 0x010f, type: 2, count: make.length, value: makeOffset },
    { tag: 0x0112, type: 3, count: 1, value: tiffShortValue(orientation, byteOrder) },
  ], make);
}

/** An APP1 segment (marker, length, payload) holding "Exif\0\0" + `tiff`; `payload` overrides the whole payload. */
export function exifApp1(tiff: Buffer, payload: Buffer = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])): Buffer {
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/** `jpeg` with `segments` inserted right after its SOI marker (where cameras put the Exif APP1). */
export function withSegmentsAfterSoi(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('withSegmentsAfterSoi: not a JPEG (no SOI)');
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

/** `png` with an eXIf chunk holding `payload` right after IHDR (before IDAT, where the PNG extensions want it). */
export function pngWithExif(png: Buffer, payload: Buffer): Buffer {
  const ihdrEnd = 8 + 8 + png.readUInt32BE(8) + 4;
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('pngWithExif: no IHDR first');
  return Buffer.concat([png.subarray(0, ihdrEnd), pngChunk('eXIf', payload), png.subarray(ihdrEnd)]);
}

/** One RIFF chunk: fourcc, size (little-endian), payload, a pad byte when the size is odd. */
export function riffChunk(fourcc: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload, Buffer.alloc(payload.length & 1)]);
}

/**
 * A simple-layout WebP (RIFF, WEBP, one VP8/VP8L chunk) rewritten in the extended layout with an EXIF chunk
 * holding `exif`: VP8X (flags: EXIF) with the canvas, the bitstream chunk, then EXIF, as libwebp's webpmux writes it.
 */
export function webpWithExif(webp: Buffer, width: number, height: number, exif: Buffer): Buffer {
  if (webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 8, 12) !== 'WEBP') throw new Error('webpWithExif: not a WebP');
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x08; // the EXIF flag
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), riffChunk('VP8X', vp8x), webp.subarray(12, 8 + webp.readUInt32LE(4)), riffChunk('EXIF', exif)]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}
