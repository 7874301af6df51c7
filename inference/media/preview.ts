/**
 * Small animated previews of a generation in progress. They run every few denoising steps, so every choice here
 * favours speed over size or fidelity: the fastest libwebp method, and for GIF a palette computed from a tiny
 * sample of the frames (see gif-graph.ts).
 */
import { getMediaBinaries } from './binaries.ts';
import { encodeRaw, nearestUpscaleFilter } from './encode-raw.ts';
import { gifFilterGraph } from './gif-graph.ts';
import { parsePreviewOptions, type PreviewFormat, type PreviewOptions } from './options.ts';
import { assertValidVideo, type RgbVideo } from './video.ts';
import { PREVIEW_MIME_TYPES } from '../../shared/wire/formats.ts';

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
  const { webpEncoder } = await getMediaBinaries();
  const fit = fitPreview(video.width, video.height, maxSide);

  const data =
    format === 'webp'
      ? await encodeRaw(video, {
          filterGraph: fit.filters.join(','),
          outputOptions: [
            '-c:v', webpEncoder,
            '-lossless', '0',
            '-quality', '60',
            '-compression_level', '0',
            '-loop', '0',
            '-f', 'webp',
          ],
          extension: 'webp',
          what: 'WebP preview encode',
          signal,
        })
      : await encodeRaw(video, {
          filterGraph: gifPreviewGraph(fit),
          outputOptions: ['-loop', '0', '-f', 'gif'],
          extension: 'gif',
          what: 'GIF preview encode',
          signal,
        });

  return { data, mimeType: PREVIEW_MIME_TYPES[format], width: fit.width, height: fit.height, frames: video.frames.length };
}

interface PreviewFit {
  width: number;
  height: number;
  /** Filters that shrink the source to fit (applied before the palette is computed). */
  shrink: string[];
  /** Integer nearest-neighbour enlargement factor (1 when shrinking or already fitting). */
  factor: number;
  /** The whole chain: shrink or enlarge. */
  filters: string[];
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
    const shrink = [`scale=${w}:${h}:flags=area`];
    return { width: w, height: h, shrink, factor: 1, filters: shrink };
  }
  const factor = Math.min(MAX_PREVIEW_UPSCALE, Math.max(1, Math.floor(maxSide / longest)));
  return { width: width * factor, height: height * factor, shrink: [], factor, filters: nearestUpscaleFilter(factor) };
}

/** Previews sample the palette from even smaller frames than clips: speed matters more than colour accuracy. */
const PREVIEW_PALETTE_SAMPLE_SIDE = 32;

function gifPreviewGraph(fit: PreviewFit): string {
  return gifFilterGraph({
    shrink: fit.shrink,
    width: fit.width / fit.factor,
    height: fit.height / fit.factor,
    enlarge: fit.factor,
    // 64 colours: mapping cost grows with palette size and a preview does not need more.
    maxColors: 64,
    sampleSide: PREVIEW_PALETTE_SAMPLE_SIDE,
  });
}
