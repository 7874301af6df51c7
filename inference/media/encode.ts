/**
 * Final clips for chat: MP4 (H.264), GIF and animated WebP, from raw RGB24 frames.
 *
 * MP4 is what Discord and Slack play inline: H.264 High, yuv420p, even dimensions, BT.709 tagged, index at the
 * front (+faststart) so playback starts before the download ends. Encodes are deterministic on one machine (single
 * x264 thread, bitexact muxing, no metadata but the clip's provenance), which lets the daemon cache and tests compare bytes.
 *
 * A final clip may carry marks (issue #25): its provenance as MP4 metadata (provenance.ts) and the operator's visible
 * watermark (watermark.ts). Request text reaches ffmpeg only as `-metadata` values; the filter graph is built from
 * numbers and operator configuration alone (clipEncodeJob is pure so a test can hold it to that).
 */
import { getMediaBinaries, type WebpEncoder } from './binaries.ts';
import { encodeRaw, nearestUpscaleFilter, type RawEncodeJob } from './encode-raw.ts';
import { gifFilterGraph } from './gif-graph.ts';
import { InvalidMediaOptionsError, isMediaError } from './errors.ts';
import { provenanceArgs, type ClipProvenance } from './provenance.ts';
import { joinChain, watermarkLayer, type Watermark, type WatermarkLayer } from './watermark.ts';
import { MAX_OUTPUT_SIDE, parseEncodeOptions, type ClipFormat, type EncodeOptions } from './options.ts';
import { assertValidVideo, type RgbVideo } from './video.ts';
import { decodeFrames } from './decode.ts';
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
export async function encodeClip(video: RgbVideo, options: EncodeOptions & { marks?: ClipMarks | undefined }): Promise<EncodedClip> {
  assertValidVideo(video);
  if ((options as { maxBytes?: unknown }).maxBytes !== undefined) {
    throw new InvalidMediaOptionsError('encodeClip takes no maxBytes; fit a clip to a byte limit with fitClip (fit.ts)');
  }
  const { format, upscale, signal } = parseEncodeOptions(options);
  return encodeClipAtQuality(video, { format, upscale, signal, qualityStep: 0, marks: options.marks });
}

/** What a final clip carries besides its pictures (issue #25). Previews and the last-frame PNG carry neither. */
export interface ClipMarks {
  /** Written as MP4 metadata (provenance.ts); GIF and WebP muxers keep none. */
  provenance?: ClipProvenance | undefined;
  /** The operator's visible mark (watermark.ts), on every format. */
  watermark?: Watermark | undefined;
}

export interface QualityEncodeOptions {
  format: ClipFormat;
  /** Index into QUALITY_STEPS[format]: 0 is the best quality. */
  qualityStep: number;
  /** Integer nearest-neighbour upscaling, 1..4. */
  upscale: number;
  signal?: AbortSignal | undefined;
  marks?: ClipMarks | undefined;
}

/** One encode at one quality step: the building block of encodeClip and of fitting a clip to a byte limit (fit.ts). */
export async function encodeClipAtQuality(video: RgbVideo, options: QualityEncodeOptions): Promise<EncodedClip> {
  assertValidVideo(video);
  const { format, upscale, signal, qualityStep } = options;
  const { webpEncoder } = await getMediaBinaries();
  const plan = { format, upscale, qualityStep, webpEncoder, marks: options.marks ?? {} };
  // Checks the step and the size before anything runs.
  const { width, height } = clipEncodeJob(video, plan, '');
  const data = await encodeRaw(video, (dir) => ({ ...clipEncodeJob(video, plan, dir), signal }));
  return { data, mimeType: CLIP_MIME_TYPES[format], width, height, frames: video.frames.length, fps: video.fps };
}

export interface ClipEncodePlan {
  format: ClipFormat;
  upscale: number;
  qualityStep: number;
  webpEncoder: WebpEncoder;
  marks: ClipMarks;
}

/**
 * The ffmpeg job of one clip encode, from the frames' size, the plan and the run's temp folder `dir` (where the
 * watermark's files go): pure, so `rawEncodeCommand(video, job, out).args()` is the exact argv ffmpeg gets.
 */
export function clipEncodeJob(video: Pick<RgbVideo, 'width' | 'height'>, plan: ClipEncodePlan, dir: string): RawEncodeJob & { width: number; height: number } {
  const { format, upscale, qualityStep, webpEncoder, marks } = plan;
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

  // H.264 in yuv420p needs even sides; other formats keep the exact size.
  const width = format === 'mp4' ? roundUpToEven(scaledWidth) : scaledWidth;
  const height = format === 'mp4' ? roundUpToEven(scaledHeight) : scaledHeight;
  // The mark is sized for the encoded picture and drawn after upscaling, except on GIF (whose frames are enlarged
  // after their palette is applied): there it is drawn on the source frames at 1/upscale of the size.
  const layer = marks.watermark !== undefined ? watermarkLayer(marks.watermark, scaledWidth, scaledHeight, dir, format === 'gif' ? upscale : 1) : undefined;
  const job = clipJob(format, { upscale, scaledWidth, scaledHeight, width, height, quality, webpEncoder, layer, provenance: marks.provenance });
  return { ...job, width, height };
}

/**
 * Proves at start-up that ffmpeg can draw `watermark` (drawtext in the build, a font FreeType opens, a PNG it
 * decodes) by marking a small MP4 and GIF at full opacity and finding the mark in the decoded frame: ffmpeg passes
 * frames through unmarked, exit code 0, when the mark's PNG does not decode. The error names `variable` and quotes ffmpeg.
 */
export async function verifyWatermark(watermark: Watermark, variable: string): Promise<void> {
  const opaque = { ...watermark, opacity: 1 };
  for (const format of ['mp4', 'gif'] as const) {
    let drawn = false;
    try {
      // Two backgrounds: a mark may match one of them (a grey logo on grey), not both.
      for (const grey of [96, 200]) {
        const frame = new Uint8Array(64 * 64 * 3).fill(grey);
        const video = { width: 64, height: 64, fps: 8, frames: [frame, frame] };
        const [marked, plain] = await Promise.all([encodeClip(video, { format, marks: { watermark: opaque } }), encodeClip(video, { format })]);
        const [a, b] = await Promise.all([decodeFrames(marked.data, format), decodeFrames(plain.data, format)]);
        if (largestDifference(a.frames[0]!, b.frames[0]!) > VISIBLE_DIFFERENCE) {
          drawn = true;
          break;
        }
      }
    } catch (err) {
      throw new InvalidMediaOptionsError(`${variable}: ffmpeg cannot draw this watermark on a ${format.toUpperCase()} (${isMediaError(err) ? err.message : String(err)})`, { cause: err });
    }
    if (!drawn) {
      throw new InvalidMediaOptionsError(
        `${variable}: the watermark leaves a ${format.toUpperCase()} unchanged even at opacity 1 (an image ffmpeg cannot decode, or one fully transparent); give a PNG with something visible in it`,
      );
    }
  }
}

/** A channel difference that is a drawn mark, not encoder noise (x264 at CRF 18 moves flat grey by 1 or 2). */
const VISIBLE_DIFFERENCE = 24;

function largestDifference(a: Uint8Array, b: Uint8Array): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return largest;
}

interface ClipGeometry {
  upscale: number;
  scaledWidth: number;
  scaledHeight: number;
  width: number;
  height: number;
  quality: number;
  webpEncoder: WebpEncoder;
  layer: WatermarkLayer | undefined;
  provenance: ClipProvenance | undefined;
}

/** The filter graph: `before` (on the frames), the watermark when there is one, then `after`. */
function markedGraph(layer: WatermarkLayer | undefined, before: readonly string[], after: string) {
  return {
    filterGraph: layer !== undefined ? layer.graph(before, after) : joinChain(before, after),
    files: layer?.files ?? [],
    extraInputs: layer?.inputArgs ?? [],
    complexFilter: layer?.complex ?? false,
  };
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
  const { metadata, movflags } = provenanceArgs(g.provenance, 'mp4');
  return {
    // The mark goes on the picture before the odd-side padding, so the padding repeats clean edge pixels.
    ...markedGraph(g.layer, nearestUpscaleFilter(g.upscale), [
      ...evenSides,
      // Explicit BT.709 limited range, matching the tags below, so every player shows the same colours.
      'scale=out_color_matrix=bt709:out_range=tv',
      'format=yuv420p',
    ].join(',')),
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
      // One -movflags (a second would replace the first): +use_metadata_tags keeps the provenance's own keys.
      '-movflags', ['', 'faststart', ...movflags].join('+'),
      ...BITEXACT,
      ...metadata,
      '-an',
      '-f', 'mp4',
    ],
    extension: 'mp4',
    what: 'MP4 encode',
  };
}

function gifJob(g: ClipGeometry) {
  return {
    ...markedGraph(g.layer, [], gifFilterGraph({
      shrink: [],
      width: g.scaledWidth / g.upscale,
      height: g.scaledHeight / g.upscale,
      enlarge: g.upscale,
      maxColors: g.quality,
      sampleSide: GIF_PALETTE_SAMPLE_SIDE,
    })),
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
    ...markedGraph(g.layer, nearestUpscaleFilter(g.upscale), ''),
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
