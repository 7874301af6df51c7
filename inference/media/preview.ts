/**
 * Small animated previews of a generation in progress. They run every few hundred milliseconds of denoising, so every
 * choice here favours speed: both formats are encoded in-process in a worker thread (preview-encoder.ts: no process
 * per preview, nothing on the event loop), GIF by gif-encoder.ts and WebP (lossless, palette) by webp-encoder.ts.
 */
import { parsePreviewOptions, type PreviewFormat, type PreviewOptions } from './options.ts';
import { assertValidVideo, type RgbVideo } from './video.ts';
import { PREVIEW_MIME_TYPES } from '../../shared/wire/formats.ts';
import { encodePreviewInProcess } from './preview-encoder.ts';

export interface EncodedPreview {
  data: Buffer;
  mimeType: string;
  width: number;
  height: number;
  frames: number;
}

/** The MIME types are the wire's (shared/wire/formats.ts). */
export { PREVIEW_MIME_TYPES };

/** Cap on the nearest-neighbour enlargement of tiny (latent-sized) previews. */
const MAX_PREVIEW_UPSCALE = 16;

export async function encodePreview(video: RgbVideo, options: PreviewOptions): Promise<EncodedPreview> {
  assertValidVideo(video);
  const { format, maxSide, signal } = parsePreviewOptions(options);
  const fit = fitPreview(video.width, video.height, maxSide);
  const { data } = await encodePreviewInProcess({
    format, width: video.width, height: video.height, fps: video.fps, frames: video.frames,
    outWidth: fit.width, outHeight: fit.height, factor: fit.factor, signal,
  });
  return { data, mimeType: PREVIEW_MIME_TYPES[format], width: fit.width, height: fit.height, frames: video.frames.length };
}

interface PreviewFit {
  width: number;
  height: number;
  /** Integer nearest-neighbour enlargement factor (1 when shrinking or already fitting). */
  factor: number;
}

/**
 * Larger than maxSide: scale down with area averaging (keeps the aspect ratio; sides at least 1).
 * Smaller: enlarge by the largest integer factor that keeps the longest side within maxSide.
 */
export function fitPreview(width: number, height: number, maxSide: number): PreviewFit {
  const longest = Math.max(width, height);
  if (longest > maxSide) {
    const ratio = maxSide / longest;
    const w = Math.max(1, Math.round(width * ratio));
    const h = Math.max(1, Math.round(height * ratio));
    return { width: w, height: h, factor: 1 };
  }
  const factor = Math.min(MAX_PREVIEW_UPSCALE, Math.max(1, Math.floor(maxSide / longest)));
  return { width: width * factor, height: height * factor, factor };
}
