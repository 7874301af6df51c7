/**
 * The preview's frames brought to the size fitPreview (preview.ts) chose, in plain TypeScript for the in-process
 * encoders (no ffmpeg filter graph): an integer nearest-neighbour enlargement keeps small previews crisp, and area
 * averaging (each output pixel the mean of the source pixels it covers, fractional edges weighted) shrinks big ones
 * without aliasing, as ffmpeg's `scale=flags=area` does.
 */

/**
 * `frames` (`channels` bytes per pixel, width × height: 3 for RGB24, 1 for palette indices) enlarged by an integer
 * `factor`. Enlarging indices after quantizing the small frames costs the palette a quarter of the pixels at 2x.
 */
export function enlargeNearest(frames: readonly Uint8Array[], width: number, height: number, factor: number, channels = 3): Uint8Array[] {
  if (factor === 1) return [...frames];
  const outW = width * factor;
  return frames.map((src) => {
    const out = new Uint8Array(outW * height * factor * channels);
    const row = new Uint8Array(outW * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0, o = 0; x < width; x++) {
        const i = (y * width + x) * channels;
        for (let d = 0; d < factor; d++) for (let c = 0; c < channels; c++) row[o++] = src[i + c]!;
      }
      for (let d = 0; d < factor; d++) out.set(row, (y * factor + d) * outW * channels);
    }
    return out;
  });
}

/** For each output index along one axis: the source spans it covers and their weights (area averaging). */
function spans(src: number, dst: number): { first: number; weights: number[] }[] {
  const scale = src / dst;
  const out: { first: number; weights: number[] }[] = [];
  for (let o = 0; o < dst; o++) {
    const a = o * scale, b = (o + 1) * scale;
    const first = Math.floor(a);
    const weights: number[] = [];
    for (let s = first; s < Math.min(src, Math.ceil(b)); s++) weights.push((Math.min(b, s + 1) - Math.max(a, s)) / scale);
    out.push({ first, weights });
  }
  return out;
}

/** `frames` (RGB24, width × height) shrunk to outW × outH by area averaging. */
export function shrinkArea(frames: readonly Uint8Array[], width: number, height: number, outW: number, outH: number): Uint8Array[] {
  const xs = spans(width, outW), ys = spans(height, outH);
  return frames.map((src) => {
    const out = new Uint8Array(outW * outH * 3);
    for (let oy = 0; oy < outH; oy++) {
      const { first: y0, weights: wy } = ys[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const { first: x0, weights: wx } = xs[ox]!;
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < wy.length; j++) {
          for (let i = 0; i < wx.length; i++) {
            const w = wy[j]! * wx[i]!;
            const p = ((y0 + j) * width + x0 + i) * 3;
            r += src[p]! * w;
            g += src[p + 1]! * w;
            b += src[p + 2]! * w;
          }
        }
        const o = (oy * outW + ox) * 3;
        out[o] = Math.round(r);
        out[o + 1] = Math.round(g);
        out[o + 2] = Math.round(b);
      }
    }
    return out;
  });
}
