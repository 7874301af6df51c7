/**
 * A per-clip 256-colour palette for the pure-TypeScript GIF encoder (gif-encoder.ts): median cut over a 15-bit
 * (5 bits per channel) histogram of every frame, then each pixel mapped to its nearest palette entry through a
 * 32768-entry cache keyed by the same 15 bits. One palette for all frames keeps the GIF's colours steady from frame
 * to frame (no flicker between previews of one clip) and costs one pass over the pixels to count and one to map.
 * Error bound: a pixel lands at most ~4 levels per channel from its bin's mean (the 5-bit key), plus the distance from
 * that mean to its palette entry; with ≤ 256 distinct 15-bit colours the palette holds every bin's mean exactly.
 */

/** At most this many colours: GIF's largest colour table. */
export const MAX_PALETTE_COLOURS = 256;

export interface IndexedFrames {
  /** RGB triples, `colours * 3` bytes, padded by the encoder to a power of two. */
  palette: Uint8Array;
  colours: number;
  /** One index per pixel, per frame. */
  indices: Uint8Array[];
}

const BINS = 1 << 15;

function binOf(r: number, g: number, b: number): number {
  return ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
}

interface Box {
  bins: number[];
  count: number;
  /** Widest channel (0 red, 1 green, 2 blue) by the bins' mean colours, and the split priority: range × √pixels. */
  axis: number;
  score: number;
}

function makeBox(bins: number[], count: Uint32Array, mean: Float64Array): Box {
  let pixels = 0;
  const lo = [255, 255, 255], hi = [0, 0, 0];
  for (const bin of bins) {
    pixels += count[bin]!;
    for (let c = 0; c < 3; c++) {
      const v = mean[bin * 3 + c]!;
      if (v < lo[c]!) lo[c] = v;
      if (v > hi[c]!) hi[c] = v;
    }
  }
  let axis = 0;
  for (let c = 1; c < 3; c++) if (hi[c]! - lo[c]! > hi[axis]! - lo[axis]!) axis = c;
  const range = Math.max(0, hi[axis]! - lo[axis]!);
  return { bins, count: pixels, axis, score: bins.length < 2 ? 0 : range * Math.sqrt(pixels) };
}

/** Median cut to at most `maxColours` entries over all frames, and every pixel's index into it. */
export function quantizeFrames(frames: readonly Uint8Array[], maxColours: number = MAX_PALETTE_COLOURS): IndexedFrames {
  const count = new Uint32Array(BINS);
  const sum = new Float64Array(BINS * 3);
  for (const f of frames) {
    for (let i = 0; i < f.length; i += 3) {
      const r = f[i]!, g = f[i + 1]!, b = f[i + 2]!;
      const bin = binOf(r, g, b);
      count[bin]! += 1;
      sum[bin * 3]! += r;
      sum[bin * 3 + 1]! += g;
      sum[bin * 3 + 2]! += b;
    }
  }
  const mean = new Float64Array(BINS * 3);
  const used: number[] = [];
  for (let bin = 0; bin < BINS; bin++) {
    const n = count[bin]!;
    if (!n) continue;
    used.push(bin);
    for (let c = 0; c < 3; c++) mean[bin * 3 + c] = sum[bin * 3 + c]! / n;
  }
  const boxes: Box[] = [makeBox(used, count, mean)];
  // Split the box with the largest pixels × range until there are enough: big, varied boxes cost the most error.
  while (boxes.length < maxColours) {
    let pick = -1, score = 0;
    for (let k = 0; k < boxes.length; k++) if (boxes[k]!.score > score) { score = boxes[k]!.score; pick = k; }
    if (pick < 0) break;
    const box = boxes[pick]!;
    const axis = box.axis;
    box.bins.sort((a, b) => mean[a * 3 + axis]! - mean[b * 3 + axis]!);
    let acc = 0, cut = 1;
    for (let k = 0; k < box.bins.length - 1; k++) {
      acc += count[box.bins[k]!]!;
      cut = k + 1;
      if (acc * 2 >= box.count) break;
    }
    boxes.splice(pick, 1, makeBox(box.bins.slice(0, cut), count, mean), makeBox(box.bins.slice(cut), count, mean));
  }
  const colours = Math.max(1, boxes.length);
  const palette = new Uint8Array(colours * 3);
  const pal = new Float64Array(colours * 3);
  boxes.forEach((box, k) => {
    const s = [0, 0, 0];
    for (const bin of box.bins) for (let c = 0; c < 3; c++) s[c]! += sum[bin * 3 + c]!;
    for (let c = 0; c < 3; c++) {
      pal[k * 3 + c] = box.count ? s[c]! / box.count : 0;
      palette[k * 3 + c] = Math.round(pal[k * 3 + c]!);
    }
  });
  // Nearest entry per used bin (by the bin's mean), computed once per bin, not per pixel.
  const nearest = new Uint8Array(BINS);
  for (const bin of used) {
    let best = 0, bestD = Infinity;
    const r = mean[bin * 3]!, g = mean[bin * 3 + 1]!, b = mean[bin * 3 + 2]!;
    for (let k = 0; k < colours; k++) {
      const dr = r - palette[k * 3]!, dg = g - palette[k * 3 + 1]!, db = b - palette[k * 3 + 2]!;
      const d = dr * dr + dg * dg + db * db;
      if (d < bestD) { bestD = d; best = k; }
    }
    nearest[bin] = best;
  }
  const indices = frames.map((f) => {
    const out = new Uint8Array(f.length / 3);
    for (let i = 0, p = 0; i < f.length; i += 3, p++) out[p] = nearest[binOf(f[i]!, f[i + 1]!, f[i + 2]!)]!;
    return out;
  });
  return { palette, colours, indices };
}
