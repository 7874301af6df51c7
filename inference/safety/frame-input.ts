// From a clip's decoded frames to the classifier's input tensor: which frames are looked at (evenly spread, first
// and last included), each resized to the classifier's input size, and laid out and normalised as its config says.
// Pure functions on the event loop: at a small input size (e.g. 4 frames of 64×64) this is well under a millisecond.
import type { TensorData } from '../backend/onnx.ts';
import type { RgbFrames } from '../pipeline/frames.ts';
import type { SafetyConfig } from './classifier-config.ts';

/**
 * Indices of `count` frames spread evenly over `total` (first and last included, none twice); all frames when count
 * ≥ total; the middle one when count is 1.
 */
export function sampleFrameIndices(total: number, count: number): number[] {
  if (total <= 0) return [];
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  if (count <= 1) return [Math.floor((total - 1) / 2)];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = Math.round((i * (total - 1)) / (count - 1));
    if (out[out.length - 1] !== index) out.push(index);
  }
  return out;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  /** Taps per output pixel (the widest window). */
  width: number;
}

/**
 * Weights of a triangle filter whose support widens with the shrink factor (as PIL's BILINEAR, which classifiers'
 * preprocessing uses): enlarging is plain bilinear, shrinking averages every source pixel instead of skipping some.
 */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(1, scale);
  const support = filterScale;
  const width = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * width);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const from = Math.max(0, Math.floor(center - support + 0.5));
    const to = Math.min(inSize, Math.floor(center + support + 0.5));
    let total = 0;
    for (let x = from; x < to; x++) {
      const w = Math.max(0, 1 - Math.abs((x - center + 0.5) / filterScale));
      weights[i * width + (x - from)] = w;
      total += w;
    }
    for (let k = 0; k < to - from; k++) weights[i * width + k]! /= total || 1;
    start[i] = from;
    count[i] = to - from;
  }
  return { start, count, weights, width };
}

/** One RGB24 frame resized to outH × outW, as floats 0..255 (HWC). */
export function resizeFrame(rgb: Uint8Array, inW: number, inH: number, outW: number, outH: number): Float32Array {
  const h = taps(inW, outW);
  const v = taps(inH, outH);
  // Horizontal pass: inH rows of outW pixels.
  const rows = new Float32Array(inH * outW * 3);
  for (let y = 0; y < inH; y++) {
    for (let x = 0; x < outW; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < h.count[x]!; k++) {
        const w = h.weights[x * h.width + k]!;
        const p = (y * inW + h.start[x]! + k) * 3;
        r += w * rgb[p]!;
        g += w * rgb[p + 1]!;
        b += w * rgb[p + 2]!;
      }
      const o = (y * outW + x) * 3;
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
    }
  }
  const out = new Float32Array(outH * outW * 3);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < v.count[y]!; k++) {
        const w = v.weights[y * v.width + k]!;
        const p = ((v.start[y]! + k) * outW + x) * 3;
        r += w * rows[p]!;
        g += w * rows[p + 1]!;
        b += w * rows[p + 2]!;
      }
      const o = (y * outW + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return out;
}

/**
 * The given frames as one input batch [N, 3, h, w] (NCHW) or [N, h, w, 3] (NHWC), each value (v/255 − mean[c]) / std[c]:
 * mean 0 and std 1 give [0, 1]; ImageNet's (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) what most classifiers expect.
 */
export function framesToInput(video: RgbFrames, indices: readonly number[], config: Pick<SafetyConfig, 'input_size' | 'layout' | 'mean' | 'std'>): TensorData {
  const [outH, outW] = config.input_size;
  const plane = outH * outW;
  const data = new Float32Array(indices.length * plane * 3);
  const scale = config.std.map((s) => 1 / (255 * s));
  const shift = config.mean.map((m, c) => m / config.std[c]!);
  indices.forEach((frameIndex, n) => {
    const frame = video.frames[frameIndex];
    if (!frame) throw new RangeError(`frame ${frameIndex} is outside the clip's ${video.frames.length} frames`);
    const resized = resizeFrame(frame, video.width, video.height, outW, outH);
    const base = n * plane * 3;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const value = resized[p * 3 + c]! * scale[c]! - shift[c]!;
        data[config.layout === 'NCHW' ? base + c * plane + p : base + p * 3 + c] = value;
      }
    }
  });
  const dims = config.layout === 'NCHW' ? [indices.length, 3, outH, outW] : [indices.length, outH, outW, 3];
  return { type: 'float32', dims, data };
}
