// Conversions between model tensors and RGB frames.
import type { PreviewFactors } from '../model/manifest.ts';

export interface RgbFrames {
  width: number;
  height: number;
  /** Each frame is width*height*3 bytes, RGB24, row-major. */
  frames: Uint8Array[];
}

function toByte(v: number): number {
  // [-1, 1] → [0, 255], rounded, clamped.
  const b = Math.round((v + 1) * 127.5);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/**
 * Decoder output of one batch item, [3, F, H, W] in [-1, 1] → F RGB frames. Runs on the event loop for every clip,
 * so it writes through a Uint8ClampedArray view (clamping and rounding in the store) in one tight loop per plane.
 */
export function decodedToFrames(data: Float32Array, frames: number, height: number, width: number): RgbFrames {
  const plane = height * width;
  const channelStride = frames * plane;
  const out: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(plane * 3);
    const clamped = new Uint8ClampedArray(frame.buffer);
    for (let c = 0; c < 3; c++) {
      const src = c * channelStride + f * plane;
      for (let p = 0, o = c; p < plane; p++, o += 3) clamped[o] = (data[src + p]! + 1) * 127.5;
    }
    out.push(frame);
  }
  return { width, height, frames: out };
}

/** The inverse of decodedToFrames: RGB frames → [3, F, H, W] in [-1, 1] (a vae_encoder's input, batch item 0). */
export function framesToDecoded(video: RgbFrames): Float32Array {
  const plane = video.height * video.width;
  const channelStride = video.frames.length * plane;
  const data = new Float32Array(3 * channelStride);
  video.frames.forEach((frame, f) => {
    for (let c = 0; c < 3; c++) {
      const dst = c * channelStride + f * plane;
      for (let p = 0, i = c; p < plane; p++, i += 3) data[dst + p] = frame[i]! / 127.5 - 1;
    }
  });
  return data;
}

/**
 * Cheap preview: decoder-space latent [C, F, h, w] → RGB through linear factors, upscaled by nearest neighbour
 * by `scale`. Costs C·F·h·w multiply-adds: negligible next to a denoiser step.
 */
export function latentToPreviewFrames(latent: Float32Array, shape: { channels: number; frames: number; height: number; width: number }, factors: PreviewFactors, scale: number): RgbFrames {
  const { channels, frames, height, width } = shape;
  const plane = height * width;
  const outW = width * scale;
  const outH = height * scale;
  const out: Uint8Array[] = [];
  const rgb = new Float32Array(3);
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(outW * outH * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        rgb[0] = factors.bias[0];
        rgb[1] = factors.bias[1];
        rgb[2] = factors.bias[2];
        const p = f * plane + y * width + x;
        for (let c = 0; c < channels; c++) {
          const z = latent[c * frames * plane + p]!;
          const row = factors.factors[c]!;
          rgb[0] += z * row[0];
          rgb[1] += z * row[1];
          rgb[2] += z * row[2];
        }
        const r = toByte(rgb[0]), g = toByte(rgb[1]), b = toByte(rgb[2]);
        for (let dy = 0; dy < scale; dy++) {
          let o = ((y * scale + dy) * outW + x * scale) * 3;
          for (let dx = 0; dx < scale; dx++, o += 3) {
            frame[o] = r;
            frame[o + 1] = g;
            frame[o + 2] = b;
          }
        }
      }
    }
    out.push(frame);
  }
  return { width: outW, height: outH, frames: out };
}
