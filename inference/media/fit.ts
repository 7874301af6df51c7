/**
 * Fitting a clip to a byte limit (a chat's upload limit, GenerateRequest.max_clip_bytes), from the raw frames, so a
 * smaller clip is never made by decoding and re-encoding an already-lossy file. The ladder: the format's quality steps
 * at full size; then the same steps at half the size, a quarter, … never below a floor side; the first encode that fits
 * wins. When none fits, the smallest encode made is returned, flagged `overLimit`, for the caller to link or explain:
 * a clip is never dropped here.
 */
import { encodeClipAtQuality, QUALITY_STEPS, type ClipMarks, type EncodedClip } from './encode.ts';
import { InvalidMediaOptionsError } from './errors.ts';
import { parseEncodeOptions, type ClipFormat } from './options.ts';
import { assertValidVideo, type RgbVideo } from './video.ts';

/** Smallest side (of the encoded picture) the ladder halves down to: below this a clip shows nothing recognisable. */
export const MIN_FIT_SIDE = 16;

export interface FitClipOptions {
  format: ClipFormat;
  /** Largest file allowed, in bytes (a positive integer). Default: no bound, so one encode at the best quality. */
  maxBytes?: number | undefined;
  /** Integer nearest-neighbour upscaling, 1..4. Default 1. Halving drops an even upscale before it touches frames. */
  upscale?: number | undefined;
  /** Kills ffmpeg and rejects with code ABORTED when fired. */
  signal?: AbortSignal | undefined;
  /** Smallest side of the encoded picture a halving may produce. Default MIN_FIT_SIDE. */
  minSide?: number | undefined;
  /** Provenance and watermark (encode.ts ClipMarks), on every encode of the ladder. Default: none. */
  marks?: ClipMarks | undefined;
}

/** What fitting did (the wire's ClipFit). */
export interface ClipFitReport {
  /** The maxBytes it was fitted to. */
  limitBytes: number;
  /** The size at the best quality and full size (over limitBytes). */
  originalBytes: number;
  /** Steps down QUALITY_STEPS[format] of the returned encode (0: the best). */
  qualityStep: number;
  /** The sides of the returned encode are the full size divided by this: 1, 2, 4, … */
  downscale: number;
  /** Nothing fit: the returned encode is the smallest made, still over limitBytes. */
  overLimit: boolean;
}

export interface FittedClip extends EncodedClip {
  /** Absent when the clip fit as made (or no maxBytes was given). */
  fit?: ClipFitReport;
}

/** One size on the ladder: the frames to encode and the upscale to encode them with. */
interface Rung {
  video: RgbVideo;
  upscale: number;
  downscale: number;
}

export async function fitClip(video: RgbVideo, options: FitClipOptions): Promise<FittedClip> {
  assertValidVideo(video);
  const { format, upscale, signal, maxBytes } = parseEncodeOptions({
    format: options.format,
    ...(options.upscale !== undefined ? { upscale: options.upscale } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
  });
  const minSide = options.minSide ?? MIN_FIT_SIDE;
  if (!Number.isInteger(minSide) || minSide < 1) {
    throw new InvalidMediaOptionsError(`minSide is ${String(minSide)}; it must be a positive integer number of pixels`);
  }

  const first = await encodeClipAtQuality(video, { format, upscale, signal, qualityStep: 0, marks: options.marks });
  if (maxBytes === undefined || first.data.length <= maxBytes) return first;

  const report = (clip: EncodedClip, qualityStep: number, downscale: number, overLimit: boolean): FittedClip => ({
    ...clip,
    fit: { limitBytes: maxBytes, originalBytes: first.data.length, qualityStep, downscale, overLimit },
  });
  let smallest = report(first, 0, 1, true);
  for (let rung: Rung | undefined = { video, upscale, downscale: 1 }; rung; rung = smaller(rung, minSide)) {
    // The lowest quality first: when even that is over, no step at this size fits and the next size is tried, so a
    // limit nothing meets costs one encode per halving, not one per quality step (a request cannot hold the slot).
    const last = QUALITY_STEPS[format].length - 1;
    const lowest = await encodeClipAtQuality(rung.video, { format, upscale: rung.upscale, signal, qualityStep: last, marks: options.marks });
    if (lowest.data.length > maxBytes) {
      if (lowest.data.length < smallest.data.length) smallest = report(lowest, last, rung.downscale, true);
      continue;
    }
    // Something fits at this size: the best quality that does (the full size's best is already known to be over).
    for (let step = rung.downscale === 1 ? 1 : 0; step < last; step++) {
      const clip = await encodeClipAtQuality(rung.video, { format, upscale: rung.upscale, signal, qualityStep: step, marks: options.marks });
      if (clip.data.length <= maxBytes) return report(clip, step, rung.downscale, false);
    }
    return report(lowest, last, rung.downscale, false);
  }
  return smallest;
}

/** The next rung down (half the encoded sides), or undefined when it would go below minSide. */
function smaller(rung: Rung, minSide: number): Rung | undefined {
  const outWidth = Math.floor((rung.video.width * rung.upscale) / 2);
  const outHeight = Math.floor((rung.video.height * rung.upscale) / 2);
  if (Math.min(outWidth, outHeight) < minSide) return undefined;
  // An even upscale halves for free (no detail lost); otherwise the frames themselves are halved.
  if (rung.upscale % 2 === 0) return { video: rung.video, upscale: rung.upscale / 2, downscale: rung.downscale * 2 };
  return { video: halve(rung.video), upscale: rung.upscale, downscale: rung.downscale * 2 };
}

/** Half the width and height, each output pixel the mean of a 2×2 block (sides rounded down, at least 1). */
export function halve(video: RgbVideo): RgbVideo {
  const width = Math.max(1, Math.floor(video.width / 2));
  const height = Math.max(1, Math.floor(video.height / 2));
  const frames = video.frames.map((frame) => {
    const out = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
            const sy = Math.min(video.height - 1, 2 * y + dy);
            const sx = Math.min(video.width - 1, 2 * x + dx);
            sum += frame[(sy * video.width + sx) * 3 + c] ?? 0;
          }
          out[(y * width + x) * 3 + c] = Math.round(sum / 4);
        }
      }
    }
    return out;
  });
  return { width, height, fps: video.fps, frames };
}
