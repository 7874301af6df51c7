/**
 * Final clips for chat: MP4 (H.264), GIF and animated WebP, from raw RGB24 frames.
 *
 * MP4 is what Discord and Slack play inline: H.264 High, yuv420p, even dimensions, BT.709 tagged, index at the
 * front (+faststart) so playback starts before the download ends. Encodes are deterministic on one machine (single
 * x264 thread, bitexact muxing, no metadata), which lets the daemon cache and tests compare bytes.
 */
import { getMediaBinaries, type WebpEncoder } from './binaries.ts';
import { encodeRaw, nearestUpscaleFilter } from './encode-raw.ts';
import { gifFilterGraph } from './gif-graph.ts';
import { InvalidMediaOptionsError } from './errors.ts';
import { MAX_OUTPUT_SIDE, parseEncodeOptions, type ClipFormat, type EncodeOptions } from './options.ts';
import { assertValidVideo, type RgbVideo } from './video.ts';
import { CLIP_MIME_TYPES } from '../../shared/wire/formats.ts';

export { encodePreview, type EncodedPreview } from './preview.ts';
export type { ClipFormat, EncodeOptions, PreviewFormat, PreviewOptions } from './options.ts';
export type { RgbVideo } from './video.ts';

export interface EncodedClip {
  data: Buffer;
  mimeType: string;
  /** Size of the encoded picture: source × upscale, rounded up to even for MP4. */
  width: number;
  height: number;
  /** Frames handed in. (Animated WebP stores identical consecutive frames once, with a longer duration.) */
  frames: number;
  fps: number;
}

/** The MIME types are the wire's (shared/wire/formats.ts). */
export { CLIP_MIME_TYPES };

/**
 * Quality steps, best first: encodeClip uses the first; fitClip (fit.ts) steps down them to meet a byte limit.
 * MP4: x264 CRF (18 is visually lossless for this content; each +6 roughly halves the size).
 * GIF: palette size. WebP: libwebp quality 0..100.
 */
export const QUALITY_STEPS: Readonly<Record<ClipFormat, readonly number[]>> = {
  mp4: [18, 24, 30, 36, 42],
  gif: [256, 128, 64, 32, 16],
  webp: [80, 60, 40, 20, 5],
};

/**
 * One encode at the best quality. A byte limit is fitClip's (fit.ts: quality steps, then smaller sizes), the one
 * ladder there is; a `maxBytes` given here (from untyped code) is refused rather than silently ignored.
 */
export async function encodeClip(video: RgbVideo, options: EncodeOptions): Promise<EncodedClip> {
  assertValidVideo(video);
  if ((options as { maxBytes?: unknown }).maxBytes !== undefined) {
    throw new InvalidMediaOptionsError('encodeClip takes no maxBytes; fit a clip to a byte limit with fitClip (fit.ts)');
  }
  const { format, upscale, signal } = parseEncodeOptions(options);
  return encodeClipAtQuality(video, { format, upscale, signal, qualityStep: 0 });
}

export interface QualityEncodeOptions {
  format: ClipFormat;
  /** Index into QUALITY_STEPS[format]: 0 is the best quality. */
  qualityStep: number;
  /** Integer nearest-neighbour upscaling, 1..4. */
  upscale: number;
  signal?: AbortSignal | undefined;
}

/** One encode at one quality step: the building block of encodeClip and of fitting a clip to a byte limit (fit.ts). */
export async function encodeClipAtQuality(video: RgbVideo, options: QualityEncodeOptions): Promise<EncodedClip> {
  assertValidVideo(video);
  const { format, upscale, signal, qualityStep } = options;
  const quality = QUALITY_STEPS[format][qualityStep];
  if (quality === undefined) {
    throw new InvalidMediaOptionsError(`quality step ${qualityStep} does not exist; ${format} has steps 0..${QUALITY_STEPS[format].length - 1}`);
  }
  const scaledWidth = video.width * upscale;
  const scaledHeight = video.height * upscale;
  if (Math.max(scaledWidth, scaledHeight) > MAX_OUTPUT_SIDE) {
    throw new InvalidMediaOptionsError(
      `upscale ${upscale} turns ${video.width}x${video.height} into ${scaledWidth}x${scaledHeight}; ` +
        `the largest side allowed is ${MAX_OUTPUT_SIDE}. Use a smaller upscale.`,
    );
  }
  const { webpEncoder } = await getMediaBinaries();

  // H.264 in yuv420p needs even sides; other formats keep the exact size.
  const width = format === 'mp4' ? roundUpToEven(scaledWidth) : scaledWidth;
  const height = format === 'mp4' ? roundUpToEven(scaledHeight) : scaledHeight;
  const job = clipJob(format, { upscale, scaledWidth, scaledHeight, width, height, quality, webpEncoder });
  const data = await encodeRaw(video, { ...job, signal });
  return { data, mimeType: CLIP_MIME_TYPES[format], width, height, frames: video.frames.length, fps: video.fps };
}

interface ClipGeometry {
  upscale: number;
  scaledWidth: number;
  scaledHeight: number;
  width: number;
  height: number;
  quality: number;
  webpEncoder: WebpEncoder;
}

function clipJob(format: ClipFormat, geometry: ClipGeometry) {
  switch (format) {
    case 'mp4':
      return mp4Job(geometry);
    case 'gif':
      return gifJob(geometry);
    case 'webp':
      return webpJob(geometry);
  }
}

/** Bitexact flags keep library version strings and other varying bits out of the container. */
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1'];

function mp4Job(g: ClipGeometry) {
  const padRight = g.width - g.scaledWidth;
  const padBottom = g.height - g.scaledHeight;
  // Odd sides get one extra row/column that repeats the edge pixels (not a black line). gbrp is a lossless,
  // planar repacking of RGB that fillborders can work on.
  const evenSides =
    padRight > 0 || padBottom > 0
      ? [
          'format=gbrp',
          `pad=${g.width}:${g.height}:0:0`,
          `fillborders=right=${padRight}:bottom=${padBottom}:mode=smear`,
        ]
      : [];
  return {
    filterGraph: [
      ...nearestUpscaleFilter(g.upscale),
      ...evenSides,
      // Explicit BT.709 limited range, matching the tags below, so every player shows the same colours.
      'scale=out_color_matrix=bt709:out_range=tv',
      'format=yuv420p',
    ].join(','),
    outputOptions: [
      '-c:v', 'libx264',
      // veryfast: ~4x quicker than medium on large upscaled clips, and no bigger for this kind of content.
      '-preset', 'veryfast',
      '-crf', String(g.quality),
      '-profile:v', 'high',
      '-pix_fmt', 'yuv420p',
      // One thread: x264's output then does not depend on the machine's core count.
      '-threads', '1',
      '-colorspace', 'bt709',
      '-color_primaries', 'bt709',
      '-color_trc', 'bt709',
      '-color_range', 'tv',
      '-movflags', '+faststart',
      ...BITEXACT,
      '-an',
      '-f', 'mp4',
    ],
    extension: 'mp4',
    what: 'MP4 encode',
  };
}

function gifJob(g: ClipGeometry) {
  return {
    filterGraph: gifFilterGraph({
      shrink: [],
      width: g.scaledWidth / g.upscale,
      height: g.scaledHeight / g.upscale,
      enlarge: g.upscale,
      maxColors: g.quality,
      sampleSide: GIF_PALETTE_SAMPLE_SIDE,
    }),
    outputOptions: ['-loop', '0', ...BITEXACT, '-f', 'gif'],
    extension: 'gif',
    what: 'GIF encode',
  };
}

/** Longest side of the frames the GIF palette is computed from (see gif-graph.ts). */
const GIF_PALETTE_SAMPLE_SIDE = 64;

/** libwebp method 0..6: slower methods shrink files a little; above this many output pixels they cost seconds. */
const WEBP_SLOW_METHOD_MAX_PIXELS = 512 * 512;

function webpJob(g: ClipGeometry) {
  return {
    filterGraph: nearestUpscaleFilter(g.upscale).join(','),
    outputOptions: [
      '-c:v', g.webpEncoder,
      '-lossless', '0',
      '-quality', String(g.quality),
      '-compression_level', g.width * g.height > WEBP_SLOW_METHOD_MAX_PIXELS ? '1' : '4',
      // 0 = loop forever (the muxer's default is to play once).
      '-loop', '0',
      ...BITEXACT,
      '-f', 'webp',
    ],
    extension: 'webp',
    what: 'WebP encode',
  };
}

function roundUpToEven(value: number): number {
  return value % 2 === 0 ? value : value + 1;
}
