// The tensor arithmetic of Wan2.x-style conditioning, apart from the loop that uses it (text-to-video.ts) so each
// piece is checked on its own: per-token timesteps (diffusers' `expand_timesteps`), the image as the first latent
// frame (image-to-video), and the text embedding zeroed past the prompt (UMT5's padding).

/** The latents' shape for one clip (per batch item): channels, latent frames, latent height and width. */
export interface LatentShape {
  channels: number;
  frames: number;
  height: number;
  width: number;
}

/** Patch tokens of a latent: F·(H/ph)·(W/pw) for 1×ph×pw patches (the transformer's sequence length). */
export function tokenCount(shape: LatentShape, patch: readonly [number, number, number]): number {
  return shape.frames * (shape.height / patch[1]) * (shape.width / patch[2]);
}

/**
 * One item's timesteps, [T] in token order (frame, row, column, as diffusers flattens its mask): all `t`, and 0 for
 * the first frame's tokens when that frame is the clean image (they are not noised, so the model is told so).
 */
export function fillTokenTimesteps(out: Float32Array, t: number, shape: LatentShape, patch: readonly [number, number, number], cleanFirstFrame: boolean): void {
  out.fill(t);
  if (cleanFirstFrame) out.fill(0, 0, (shape.height / patch[1]) * (shape.width / patch[2]));
}

/** 8-bit RGB, HWC, into the VAE encoder's `sample` layout [3, H, W] (one frame) in [−1, 1]. */
export function rgbToSample(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) out[k * plane + i] = rgb[i * 3 + k]! / 127.5 - 1;
  }
  return out;
}

/** Raw encoder latents [C, F, H, W] → the denoiser's normalised space, (z − mean) / std per channel (diffusers'). */
export function normaliseLatent(z: Float32Array, channels: number, mean: readonly number[] | undefined, std: readonly number[] | undefined): Float32Array {
  if (!mean && !std) return z;
  const per = z.length / channels;
  const out = new Float32Array(z.length);
  for (let c = 0; c < channels; c++) {
    const m = mean?.[c] ?? 0;
    const s = std?.[c] ?? 1;
    for (let i = c * per; i < (c + 1) * per; i++) out[i] = (z[i]! - m) / s;
  }
  return out;
}

/** Writes `frame` ([C, H, W]) over latent frame 0 of `x` ([C, F, H, W]): the image stays the clip's first frame. */
export function pinFirstFrame(x: Float32Array, frame: Float32Array, shape: LatentShape): void {
  const plane = shape.height * shape.width;
  const perChannel = shape.frames * plane;
  for (let c = 0; c < shape.channels; c++) x.set(frame.subarray(c * plane, (c + 1) * plane), c * perChannel);
}

/**
 * Text embeddings [n, L, D] with rows past each prompt's length set to 0, in place. UMT5 (Wan's text encoder) gives
 * non-zero states at padded positions even with an attention mask; diffusers trims them and pads with zeros, and
 * the transformer was trained on that.
 */
export function zeroPastLength(embeddings: Float32Array, lengths: readonly number[], L: number, D: number): void {
  lengths.forEach((len, i) => embeddings.fill(0, (i * L + Math.min(len, L)) * D, (i + 1) * L * D));
}
