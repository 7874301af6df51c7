/**
 * An animated lossless WebP (VP8L) encoder in plain TypeScript, so that WebP previews (the bots' default) are encoded
 * without spawning ffmpeg, in the preview worker thread like GIF. Kept small by using few of VP8L's tools: the clip's
 * median-cut palette (palette.ts, at least 17 entries so no pixel bundling applies) as a colour-indexing transform,
 * so every pixel is one green symbol; LZ77 references only to the pixel on the left and the one above (VP8L's 2D
 * distance codes 2 and 1: runs, and the rows a nearest-neighbour enlargement repeats); one prefix-code group.
 * Container (WebP Container Specification): RIFF/WEBP, VP8X (animation), ANIM (loop forever), one ANMF per frame.
 */
import { MAX_PALETTE_COLOURS, quantizeFrames, type IndexedFrames } from './palette.ts';
import { webpChunk, wrapWebp, writeUint24 } from './webp-riff.ts';

/** LSB-first bit writer, as VP8L reads. */
class BitWriter {
  private buf = new Uint8Array(1 << 14);
  private pos = 0;
  private acc = 0;
  private bits = 0;

  write(value: number, n: number): void {
    for (let done = 0; done < n; ) {
      const take = Math.min(n - done, 24 - this.bits);
      this.acc |= ((value >>> done) & ((1 << take) - 1)) << this.bits;
      this.bits += take;
      done += take;
      while (this.bits >= 8) {
        this.byte(this.acc & 0xff);
        this.acc >>>= 8;
        this.bits -= 8;
      }
    }
  }

  private byte(v: number): void {
    if (this.pos === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.pos++] = v;
  }

  finish(): Uint8Array {
    if (this.bits > 0) this.byte(this.acc & 0xff);
    this.acc = 0;
    this.bits = 0;
    return this.buf.slice(0, this.pos);
  }
}

const MAX_CODE_LENGTH = 15;

/** Huffman code lengths for `counts`, at most `limit` bits (counts flattened and rebuilt until they fit). */
export function codeLengths(counts: ArrayLike<number>, limit: number = MAX_CODE_LENGTH): Uint8Array {
  const n = counts.length;
  const lengths = new Uint8Array(n);
  const used: number[] = [];
  for (let i = 0; i < n; i++) if (counts[i]! > 0) used.push(i);
  if (used.length === 1) lengths[used[0]!] = 1;
  if (used.length <= 1) return lengths;
  let weights = used.map((i) => counts[i]!);
  for (;;) {
    // Two-queue Huffman: leaves sorted once by weight; merged nodes come out in weight order, so no re-sorting.
    const order = weights.map((_, k) => k).sort((a, b) => weights[a]! - weights[b]! || a - b);
    const m = order.length;
    const parent = new Int32Array(2 * m - 1);
    const weight = new Float64Array(2 * m - 1);
    order.forEach((leaf, k) => (weight[k] = weights[leaf]!));
    let leafAt = 0, nodeAt = m, nodeEnd = m;
    const take = () => (leafAt < m && (nodeAt >= nodeEnd || weight[leafAt]! <= weight[nodeAt]!) ? leafAt++ : nodeAt++);
    while (nodeEnd < 2 * m - 1) {
      const a = take(), b = take();
      weight[nodeEnd] = weight[a]! + weight[b]!;
      parent[a] = nodeEnd;
      parent[b] = nodeEnd;
      nodeEnd++;
    }
    // Depths from the root (the last node) down: parents always come after their children.
    const depth = new Uint8Array(2 * m - 1);
    for (let k = 2 * m - 3; k >= 0; k--) depth[k] = depth[parent[k]!]! + 1;
    let deepest = 0;
    order.forEach((leaf, k) => {
      lengths[used[leaf]!] = depth[k]!;
      deepest = Math.max(deepest, depth[k]!);
    });
    if (deepest <= limit) return lengths;
    weights = weights.map((w) => Math.max(1, w >> 1));
  }
}

/** Canonical codes (DEFLATE's assignment) for `lengths`, bit-reversed for an LSB-first stream. */
function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const count = new Uint32Array(MAX_CODE_LENGTH + 1); // count[0] stays 0: unused symbols get no code
  for (const l of lengths) if (l) count[l]! += 1;
  const next = new Uint32Array(MAX_CODE_LENGTH + 2);
  for (let bits = 1, code = 0; bits <= MAX_CODE_LENGTH; bits++) {
    code = (code + count[bits - 1]!) << 1;
    next[bits] = code;
  }
  const codes = new Uint32Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (!l) continue;
    let c = next[l]!++;
    let r = 0;
    for (let k = 0; k < l; k++) { r = (r << 1) | (c & 1); c >>= 1; }
    codes[s] = r;
  }
  return codes;
}

/** A prefix code ready to write symbols with: lengths, codes, or the one symbol a simple code stands for. */
interface PrefixCode {
  lengths: Uint8Array;
  codes: Uint32Array;
}

const CODE_LENGTH_ORDER = [17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/** Writes the prefix code for `counts` (simple when ≤ 2 symbols under 256, else normal) and returns it. */
function writePrefixCode(w: BitWriter, counts: Uint32Array): PrefixCode {
  const used: number[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) used.push(i);
  if (used.length <= 2 && used.every((s) => s < 256)) {
    const symbols = used.length ? used : [0];
    w.write(1, 1); // simple code
    w.write(symbols.length - 1, 1);
    const wide = symbols[0]! > 1;
    w.write(wide ? 1 : 0, 1);
    w.write(symbols[0]!, wide ? 8 : 1);
    if (symbols.length === 2) w.write(symbols[1]!, 8);
    const lengths = new Uint8Array(counts.length);
    const codes = new Uint32Array(counts.length);
    // One symbol: zero bits per use. Two: one bit, the first symbol 0.
    if (symbols.length === 2) { lengths[symbols[0]!] = 1; lengths[symbols[1]!] = 1; codes[symbols[1]!] = 1; }
    return { lengths, codes };
  }
  const lengths = codeLengths(counts);
  const codes = canonicalCodes(lengths);
  // The code lengths themselves, coded with the code-length code (literal lengths 0..15 only: no repeat codes).
  const clCounts = new Uint32Array(19);
  for (const l of lengths) clCounts[l]! += 1;
  const clLengths = codeLengths(clCounts, 7);
  const clCodes = canonicalCodes(clLengths);
  w.write(0, 1); // normal code
  let last = CODE_LENGTH_ORDER.length;
  while (last > 4 && clLengths[CODE_LENGTH_ORDER[last - 1]!] === 0) last--;
  w.write(last - 4, 4);
  for (let k = 0; k < last; k++) w.write(clLengths[CODE_LENGTH_ORDER[k]!]!, 3);
  w.write(0, 1); // max_symbol: the whole alphabet
  const single = clLengths.filter((l) => l > 0).length === 1;
  for (const l of lengths) if (!single) w.write(clCodes[l]!, clLengths[l]!);
  return { lengths, codes };
}

/** VP8L's prefix coding of a length or distance value ≥ 1: [prefix symbol, extra bit count, extra bits]. */
function prefixOf(value: number): [number, number, number] {
  if (value <= 4) return [value - 1, 0, 0];
  const t = value - 1;
  const h = 31 - Math.clz32(t);
  const s = (t >> (h - 1)) & 1;
  const eb = h - 1;
  return [2 * h + s, eb, t - ((2 + s) << eb)];
}

/** Longest LZ77 copy VP8L allows (length prefix symbols reach 4096). */
const MAX_COPY = 4096;
const MIN_COPY = 3;
type Token = { literal: number } | { length: number; distCode: number };

/** Tokens of one frame's indices: runs from the left pixel (2D code 2) or the row above (2D code 1), else literals. */
function tokenize(indices: Uint8Array, width: number): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < indices.length; ) {
    let up = 0, left = 0;
    if (i >= width) while (up < MAX_COPY && i + up < indices.length && indices[i + up] === indices[i + up - width]) up++;
    if (i >= 1) while (left < MAX_COPY && i + left < indices.length && indices[i + left] === indices[i + left - 1]) left++;
    if (Math.max(up, left) >= MIN_COPY) {
      const length = Math.max(up, left);
      tokens.push({ length, distCode: up >= left ? 1 : 2 });
      i += length;
    } else {
      tokens.push({ literal: indices[i]! });
      i++;
    }
  }
  return tokens;
}

const GREEN_ALPHABET = 256 + 24;
const DIST_ALPHABET = 40;

/** The entropy-coded image: `argb` pixels (as [g, r, b, a] symbols), or tokens of green-only pixels. */
function writeImageData(w: BitWriter, tokens: Token[], rba: [number, number, number] | ((k: number) => [number, number, number]), main: boolean): void {
  w.write(0, 1); // no colour cache
  if (main) w.write(0, 1); // no meta prefix codes: one group for the whole image
  const green = new Uint32Array(GREEN_ALPHABET), red = new Uint32Array(256), blue = new Uint32Array(256), alpha = new Uint32Array(256), dist = new Uint32Array(DIST_ALPHABET);
  let literalIndex = 0;
  const rbaOf = (k: number) => (typeof rba === 'function' ? rba(k) : rba);
  for (const t of tokens) {
    if ('literal' in t) {
      green[t.literal]! += 1;
      const [r, b, a] = rbaOf(literalIndex++);
      red[r]! += 1; blue[b]! += 1; alpha[a]! += 1;
    } else {
      green[256 + prefixOf(t.length)[0]]! += 1;
      dist[prefixOf(t.distCode)[0]]! += 1;
    }
  }
  const codes = [green, red, blue, alpha, dist].map((c) => writePrefixCode(w, c));
  const put = (code: PrefixCode, s: number) => w.write(code.codes[s]!, code.lengths[s]!);
  literalIndex = 0;
  for (const t of tokens) {
    if ('literal' in t) {
      put(codes[0]!, t.literal);
      const [r, b, a] = rbaOf(literalIndex++);
      put(codes[1]!, r); put(codes[2]!, b); put(codes[3]!, a);
    } else {
      const [lp, leb, lx] = prefixOf(t.length);
      put(codes[0]!, 256 + lp);
      w.write(lx, leb);
      const [dp, deb, dx] = prefixOf(t.distCode);
      put(codes[4]!, dp);
      w.write(dx, deb);
    }
  }
}

/** One frame as a VP8L bitstream: header, the colour-indexing transform with its table, the indices. */
function vp8lFrame(width: number, height: number, palette: Uint8Array, colours: number, indices: Uint8Array): Uint8Array {
  const w = new BitWriter();
  w.write(0x2f, 8);
  w.write(width - 1, 14);
  w.write(height - 1, 14);
  w.write(0, 1); // alpha unused
  w.write(0, 3); // version 0
  w.write(1, 1); // a transform:
  w.write(3, 2); // colour indexing
  w.write(colours - 1, 8);
  // The table as a 1-row image of ARGB deltas from the entry before (green carries its delta as the literal).
  const deltas: [number, number, number, number][] = [];
  for (let k = 0; k < colours; k++) {
    const [r, g, b] = [palette[k * 3]!, palette[k * 3 + 1]!, palette[k * 3 + 2]!];
    const [pr, pg, pb, pa] = k ? [palette[k * 3 - 3]!, palette[k * 3 - 2]!, palette[k * 3 - 1]!, 255] : [0, 0, 0, 0];
    deltas.push([(g - pg) & 255, (r - pr) & 255, (b - pb) & 255, (255 - pa) & 255]);
  }
  writeImageData(w, deltas.map((d) => ({ literal: d[0] })), (k) => [deltas[k]![1], deltas[k]![2], deltas[k]![3]], false);
  w.write(0, 1); // no more transforms
  writeImageData(w, tokenize(indices, width), [0, 0, 0], true);
  return w.finish();
}

export interface WebpInput {
  width: number;
  height: number;
  fps: number;
  frames: readonly Uint8Array[];
}

/** An animated, forever-looping lossless WebP of the frames, in one palette of up to 256 colours. */
export function encodeWebp(input: WebpInput): Uint8Array {
  return encodeIndexedWebp({ width: input.width, height: input.height, fps: input.fps, ...quantizeFrames(input.frames) });
}

/** The same from frames already quantized (palette.ts). */
export function encodeIndexedWebp(input: { width: number; height: number; fps: number } & IndexedFrames): Uint8Array {
  const { width, height, indices } = input;
  // At least 17 entries: with 16 or fewer, VP8L packs several pixels per symbol (bundling), which this writer does not.
  const colours = Math.min(MAX_PALETTE_COLOURS, Math.max(17, input.colours));
  const palette = new Uint8Array(colours * 3);
  palette.set(input.palette.subarray(0, input.colours * 3));
  const durationMs = Math.max(1, Math.round(1000 / input.fps));
  const vp8x = new Uint8Array(10);
  vp8x[0] = 0x02; // animation
  writeUint24(vp8x, 4, width - 1);
  writeUint24(vp8x, 7, height - 1);
  const anim = new Uint8Array(6); // background 0 (transparent black), loop count 0 (forever)
  const parts: Uint8Array[] = [webpChunk('VP8X', vp8x), webpChunk('ANIM', anim)];
  for (const frame of indices) {
    const bitstream = webpChunk('VP8L', vp8lFrame(width, height, palette, colours, frame));
    const head = new Uint8Array(16);
    writeUint24(head, 6, width - 1);
    writeUint24(head, 9, height - 1);
    writeUint24(head, 12, durationMs);
    head[15] = 0x02; // do not blend, do not dispose
    const payload = new Uint8Array(16 + bitstream.length);
    payload.set(head);
    payload.set(bitstream, 16);
    parts.push(webpChunk('ANMF', payload));
  }
  return wrapWebp(parts);
}
