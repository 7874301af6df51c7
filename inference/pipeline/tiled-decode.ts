// The VAE decode in spatial tiles, so a large clip fits in memory. A whole-clip decode of Wan2.2-TI2V-5B at 1280×704
// and 121 frames holds activations for every pixel of every frame at once, tens of GB; diffusers' Wan VAE has
// `enable_tiling` for that: overlapping latent tiles decoded one by one and blended across the overlap. This is the
// same idea for any package's `vae_decoder` (its latent height and width must be dynamic, as exports make them), set
// by the package's `decoder_tiling` (docs/model-package.md): tiles of `tile` latent cells a side, `overlap` cells shared
// by neighbours. Each output pixel is the weighted mean of the tiles that cover it, with weights ramping from 0 to 1
// across the overlap from a tile's inner edge (never at the clip's own border), so a decoder that is local in space
// gives back the whole decode, and a convolutional one has no visible seam.

/** A latent tile's size and the cells neighbours share, in latent cells. */
export interface DecoderTiling {
  tile: number;
  overlap: number;
}

/** One decoded tile: [1, 3, T, h·s, w·s] float32, as vae_decoder returns it. */
export interface DecodedTile {
  data: Float32Array;
  dims: readonly number[];
}

/** Tile starts along one side of `size` cells: every `tile − overlap`, the last ending at the side. */
export function tileStarts(size: number, tiling: DecoderTiling): number[] {
  const { tile, overlap } = tiling;
  if (size <= tile) return [0];
  const stride = tile - overlap;
  const starts: number[] = [];
  for (let at = 0; at + tile < size; at += stride) starts.push(at);
  starts.push(size - tile);
  return starts;
}

/** Whether this latent needs tiles at all: a side longer than one tile. */
export function needsTiles(height: number, width: number, tiling: DecoderTiling | undefined): tiling is DecoderTiling {
  return tiling !== undefined && (height > tiling.tile || width > tiling.tile);
}

/**
 * Weight of output pixel `p` (0-based, along one side) of a tile that spans pixels [from, to) of a side of `total`:
 * 1 inside, ramping over `ramp` pixels at each edge that is inside the clip (neighbours overlap there).
 */
function edgeWeight(p: number, from: number, to: number, total: number, ramp: number): number {
  let w = 1;
  if (from > 0 && ramp > 0) w = Math.min(w, (p - from + 0.5) / ramp);
  if (to < total && ramp > 0) w = Math.min(w, (to - p - 0.5) / ramp);
  return w;
}

/**
 * Decodes `latent` ([1, C, F, H, W] in decoder space) tile by tile with `decode` and blends the tiles into one clip
 * [1, 3, T, H·s, W·s]. Tiles run one after another: at most one tile's activations are alive at a time.
 */
export async function decodeInTiles(
  latent: Float32Array,
  dims: readonly [number, number, number, number, number],
  spatialFactor: number,
  tiling: DecoderTiling,
  decode: (tile: Float32Array, dims: [number, number, number, number, number]) => Promise<DecodedTile>,
): Promise<DecodedTile> {
  const [, channels, frames, height, width] = dims;
  const s = spatialFactor;
  const rows = tileStarts(height, tiling);
  const cols = tileStarts(width, tiling);
  const th = Math.min(tiling.tile, height);
  const tw = Math.min(tiling.tile, width);
  const ramp = tiling.overlap * s;
  const outH = height * s;
  const outW = width * s;
  let out: Float32Array | undefined;
  let outFrames = 0;
  const weights = new Float32Array(outH * outW);
  const tile = new Float32Array(channels * frames * th * tw);
  for (const y0 of rows) {
    for (const x0 of cols) {
      // Copy the latent tile [C, F, th, tw] out of [C, F, H, W].
      let k = 0;
      for (let c = 0; c < channels; c++) {
        for (let f = 0; f < frames; f++) {
          const plane = (c * frames + f) * height * width;
          for (let y = 0; y < th; y++) {
            const row = plane + (y0 + y) * width + x0;
            tile.set(latent.subarray(row, row + tw), k);
            k += tw;
          }
        }
      }
      const decoded = await decode(tile, [1, channels, frames, th, tw]);
      const [, rgb, t, ph, pw] = decoded.dims as [number, number, number, number, number];
      if (rgb !== 3 || ph !== th * s || pw !== tw * s) {
        throw new Error(`vae_decoder gave a tile of [${decoded.dims.join(', ')}] for a latent tile of ${th}×${tw}; expected [1, 3, T, ${th * s}, ${tw * s}] (spatial factor ${s})`);
      }
      if (!out) {
        outFrames = t;
        out = new Float32Array(3 * t * outH * outW);
      } else if (t !== outFrames) {
        throw new Error(`vae_decoder gave ${t} frames for one tile and ${outFrames} for another`);
      }
      const py0 = y0 * s;
      const px0 = x0 * s;
      const wy = Array.from({ length: ph }, (_, y) => edgeWeight(py0 + y, py0, py0 + ph, outH, ramp));
      const wx = Array.from({ length: pw }, (_, x) => edgeWeight(px0 + x, px0, px0 + pw, outW, ramp));
      for (let y = 0; y < ph; y++) {
        for (let x = 0; x < pw; x++) weights[(py0 + y) * outW + px0 + x]! += wy[y]! * wx[x]!;
      }
      for (let plane = 0; plane < 3 * t; plane++) {
        const src = plane * ph * pw;
        const dst = plane * outH * outW;
        for (let y = 0; y < ph; y++) {
          const w = wy[y]!;
          const from = src + y * pw;
          const to = dst + (py0 + y) * outW + px0;
          for (let x = 0; x < pw; x++) out[to + x]! += w * wx[x]! * decoded.data[from + x]!;
        }
      }
    }
  }
  // Every pixel is covered with a positive weight: a tile's ramps start at half a pixel, and the clip's border has none.
  for (let plane = 0; plane < 3 * outFrames; plane++) {
    const base = plane * outH * outW;
    for (let i = 0; i < outH * outW; i++) out![base + i]! /= weights[i]!;
  }
  return { data: out!, dims: [1, 3, outFrames, outH, outW] };
}
