/**
 * A reader for the WebP RIFF container (chunk layout per Google's "WebP Container Specification").
 *
 * Why this exists: ffmpeg/ffprobe up to at least 6.x cannot demux *animated* WebP (ANIM/ANMF chunks): ffprobe
 * reports width 0 and no frames. So we read the container ourselves for sizes, frame count, timing and loop count,
 * and hand each frame's still bitstream back to ffmpeg for the actual VP8/VP8L decoding.
 */
import { ProbeFailedError } from './errors.ts';
import { webpChunk, wrapWebp, writeUint24 } from './webp-riff.ts';

export interface WebpFrame {
  /** Placement of the frame on the canvas. */
  x: number;
  y: number;
  width: number;
  height: number;
  durationMs: number;
  /** Alpha-blend onto the canvas (true) or overwrite the rectangle (false). */
  blend: boolean;
  /** Clear the rectangle to transparent after showing this frame. */
  disposeToBackground: boolean;
  /** The frame as a standalone still WebP file ffmpeg can decode. */
  still: Buffer;
}

export interface WebpInfo {
  width: number;
  height: number;
  animated: boolean;
  /** 0 = loop forever; undefined for still images. */
  loopCount: number | undefined;
  frames: WebpFrame[];
}

interface Chunk {
  fourcc: string;
  /** Offset of the chunk header in the buffer. */
  offset: number;
  payload: Buffer;
}

export function isWebp(data: Buffer): boolean {
  return data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP';
}

export function parseWebp(data: Buffer): WebpInfo {
  if (!isWebp(data)) throw new ProbeFailedError('Not a WebP file: it lacks the "RIFF....WEBP" header.');
  const chunks = readChunks(data, 12, data.length);
  const vp8x = chunks.find((chunk) => chunk.fourcc === 'VP8X');
  const anim = chunks.find((chunk) => chunk.fourcc === 'ANIM');
  const frameChunks = chunks.filter((chunk) => chunk.fourcc === 'ANMF');

  if (vp8x !== undefined && anim !== undefined) {
    if (frameChunks.length === 0) throw new ProbeFailedError('Animated WebP has an ANIM chunk but no ANMF frames.');
    return {
      width: readUint24(vp8x.payload, 4) + 1,
      height: readUint24(vp8x.payload, 7) + 1,
      animated: true,
      loopCount: anim.payload.readUInt16LE(4),
      frames: frameChunks.map(parseAnimationFrame),
    };
  }

  // A still image: simple format (one VP8/VP8L chunk) or extended (VP8X + optional ALPH + VP8/VP8L).
  const image = chunks.find((chunk) => chunk.fourcc === 'VP8 ' || chunk.fourcc === 'VP8L');
  if (image === undefined) throw new ProbeFailedError('WebP file has no VP8/VP8L image data.');
  const size = vp8x !== undefined
    ? { width: readUint24(vp8x.payload, 4) + 1, height: readUint24(vp8x.payload, 7) + 1 }
    : bitstreamSize(image);
  return {
    ...size,
    animated: false,
    loopCount: undefined,
    frames: [{ x: 0, y: 0, ...size, durationMs: 0, blend: false, disposeToBackground: false, still: data }],
  };
}

function parseAnimationFrame(chunk: Chunk): WebpFrame {
  const p = chunk.payload;
  if (p.length < 16) throw new ProbeFailedError(`WebP ANMF chunk at byte ${chunk.offset} is truncated.`);
  const flags = p.readUInt8(15);
  const width = readUint24(p, 6) + 1;
  const height = readUint24(p, 9) + 1;
  const subChunks = readChunks(p, 16, p.length);
  const alpha = subChunks.find((c) => c.fourcc === 'ALPH');
  const image = subChunks.find((c) => c.fourcc === 'VP8 ' || c.fourcc === 'VP8L');
  if (image === undefined) throw new ProbeFailedError(`WebP frame at byte ${chunk.offset} has no VP8/VP8L data.`);
  return {
    x: readUint24(p, 0) * 2,
    y: readUint24(p, 3) * 2,
    width,
    height,
    durationMs: readUint24(p, 12),
    blend: (flags & 0b10) === 0,
    disposeToBackground: (flags & 0b01) !== 0,
    still: buildStill(width, height, alpha, image),
  };
}

/** A still WebP holding one frame: VP8X (when there is an ALPH chunk, which needs the extended format) + data. */
function buildStill(width: number, height: number, alpha: Chunk | undefined, image: Chunk): Buffer {
  const parts: Uint8Array[] = [];
  if (alpha !== undefined) {
    const header = new Uint8Array(10);
    header[0] = 0x10; // "alpha" flag
    writeUint24(header, 4, width - 1);
    writeUint24(header, 7, height - 1);
    parts.push(webpChunk('VP8X', header), webpChunk('ALPH', alpha.payload));
  }
  parts.push(webpChunk(image.fourcc, image.payload));
  return Buffer.from(wrapWebp(parts));
}

function readChunks(data: Buffer, start: number, end: number): Chunk[] {
  const chunks: Chunk[] = [];
  let offset = start;
  while (offset + 8 <= end) {
    const fourcc = data.toString('latin1', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const payloadStart = offset + 8;
    if (payloadStart + size > end) {
      throw new ProbeFailedError(`WebP chunk "${fourcc}" at byte ${offset} claims ${size} bytes but the data ends first.`);
    }
    chunks.push({ fourcc, offset, payload: data.subarray(payloadStart, payloadStart + size) });
    offset = payloadStart + size + (size % 2); // chunks are padded to even sizes
  }
  return chunks;
}

/** Width and height from a simple-format VP8 (lossy) or VP8L (lossless) bitstream header. */
function bitstreamSize(image: Chunk): { width: number; height: number } {
  const p = image.payload;
  if (image.fourcc === 'VP8L') {
    if (p.length < 5 || p[0] !== 0x2f) throw new ProbeFailedError('WebP VP8L data lacks its signature byte.');
    const bits = p.readUInt32LE(1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (p.length < 10 || p[3] !== 0x9d || p[4] !== 0x01 || p[5] !== 0x2a) {
    throw new ProbeFailedError('WebP VP8 data lacks its key frame start code.');
  }
  return { width: p.readUInt16LE(6) & 0x3fff, height: p.readUInt16LE(8) & 0x3fff };
}

function readUint24(buffer: Buffer, offset: number): number {
  return buffer.readUIntLE(offset, 3);
}
