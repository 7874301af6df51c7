/**
 * An animated GIF encoder in plain TypeScript, so that a preview is encoded without spawning ffmpeg (a process per
 * preview cost ~20% of a clip's time, issue #23). It runs in the preview worker thread (preview-worker.ts), off the
 * event loop. Layout (GIF89a): header, logical screen with one global colour table (the clip's median-cut palette,
 * palette.ts), the NETSCAPE2.0 loop extension, then per frame a graphic control extension (delay) and a full-canvas
 * image whose indices are LZW-coded (variable code width 9..12 bits, a clear code when the table fills).
 */
import { quantizeFrames, type IndexedFrames } from './palette.ts';

/** What encodeGif needs: packed RGB24 frames of one size, and their rate. */
export interface GifInput {
  width: number;
  height: number;
  fps: number;
  frames: readonly Uint8Array[];
}

/** A growable byte buffer: GIF sizes are not known up front. */
class Bytes {
  private buf = new Uint8Array(1 << 16);
  length = 0;

  byte(v: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.byte(v & 0xff);
    this.byte((v >> 8) & 0xff);
  }

  bytes(a: ArrayLike<number>): void {
    for (let i = 0; i < a.length; i++) this.byte(a[i]!);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const MAX_CODE = 4096;
/** Open-addressing table size of the LZW dictionary: a prime above 4096 entries (as Unix compress uses). */
const HASH_SIZE = 5003;

/**
 * LZW-codes `indices` (each < 2^minCodeSize) as GIF image data: the minimum code size byte, then the codes packed
 * LSB first into sub-blocks of at most 255 bytes, then the block terminator.
 */
export function lzwEncode(indices: Uint8Array, minCodeSize: number, out: Bytes): void {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const keys = new Int32Array(HASH_SIZE);
  const codes = new Int32Array(HASH_SIZE);
  let codeSize = minCodeSize + 1;
  let next = eoi + 1;
  const block = new Uint8Array(255);
  let blockLen = 0;
  let acc = 0;
  let bits = 0;
  out.byte(minCodeSize);
  const flushByte = (b: number) => {
    block[blockLen++] = b;
    if (blockLen === 255) {
      out.byte(255);
      out.bytes(block);
      blockLen = 0;
    }
  };
  const emit = (code: number) => {
    acc |= code << bits;
    bits += codeSize;
    while (bits >= 8) {
      flushByte(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  };
  const reset = () => {
    keys.fill(-1);
    codeSize = minCodeSize + 1;
    next = eoi + 1;
  };
  reset();
  emit(clear);
  if (indices.length > 0) {
    let prefix = indices[0]!;
    for (let i = 1; i < indices.length; i++) {
      const k = indices[i]!;
      const key = (prefix << 8) | k;
      let h = (k << 4) ^ prefix;
      if (h >= HASH_SIZE) h %= HASH_SIZE;
      const step = h === 0 ? 1 : HASH_SIZE - h;
      let found = -1;
      while (keys[h] !== -1) {
        if (keys[h] === key) { found = codes[h]!; break; }
        h -= step;
        if (h < 0) h += HASH_SIZE;
      }
      if (found >= 0) { prefix = found; continue; }
      emit(prefix);
      if (next === MAX_CODE) {
        // The table is full: a clear code (at 12 bits) and a fresh table; GIF decoders expect exactly this.
        emit(clear);
        reset();
      } else {
        if (next >= 1 << codeSize) codeSize++;
        keys[h] = key;
        codes[h] = next++;
      }
      prefix = k;
    }
    emit(prefix);
  }
  // The decoder added an entry for the last code; the end code's width follows the same rule.
  if (next >= 1 << codeSize && codeSize < 12) codeSize++;
  emit(eoi);
  if (bits > 0) flushByte(acc & 0xff);
  if (blockLen > 0) {
    out.byte(blockLen);
    out.bytes(block.subarray(0, blockLen));
  }
  out.byte(0);
}

/** The frame delay in GIF's hundredths of a second: browsers treat 0 and 1 as 10, so 2 is the shortest kept. */
export function gifDelay(fps: number): number {
  return Math.max(2, Math.round(100 / fps));
}

/** An animated, forever-looping GIF of `input`'s frames with one palette of up to 256 colours. */
export function encodeGif(input: GifInput): Uint8Array {
  return encodeIndexedGif({ width: input.width, height: input.height, fps: input.fps, ...quantizeFrames(input.frames) });
}

/** The same from frames already quantized (palette.ts), e.g. quantized small and then enlarged as indices. */
export function encodeIndexedGif(input: { width: number; height: number; fps: number } & IndexedFrames): Uint8Array {
  const { width, height, palette, colours, indices } = input;
  let tableBits = 1;
  while (1 << tableBits < colours) tableBits++;
  const out = new Bytes();
  out.bytes([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]); // GIF89a
  out.u16(width);
  out.u16(height);
  out.byte(0x80 | (7 << 4) | (tableBits - 1)); // global colour table, 8-bit colour resolution, its size
  out.byte(0); // background colour index
  out.byte(0); // pixel aspect ratio: unspecified (square)
  out.bytes(palette);
  for (let k = colours * 3; k < (1 << tableBits) * 3; k++) out.byte(0);
  // NETSCAPE2.0 application extension: loop forever.
  out.bytes([0x21, 0xff, 0x0b, 0x4e, 0x45, 0x54, 0x53, 0x43, 0x41, 0x50, 0x45, 0x32, 0x2e, 0x30, 0x03, 0x01, 0x00, 0x00, 0x00]);
  const delay = gifDelay(input.fps);
  const minCodeSize = Math.max(2, tableBits);
  for (const frame of indices) {
    out.bytes([0x21, 0xf9, 0x04, 0x04]); // graphic control extension: disposal 1 (leave in place), no transparency
    out.u16(delay);
    out.bytes([0x00, 0x00]);
    out.byte(0x2c); // image descriptor: the whole canvas, no local table, not interlaced
    out.u16(0);
    out.u16(0);
    out.u16(width);
    out.u16(height);
    out.byte(0);
    lzwEncode(frame, minCodeSize, out);
  }
  out.byte(0x3b);
  return out.result();
}

export type { Bytes };
