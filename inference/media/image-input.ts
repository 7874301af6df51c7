/**
 * The image of an image-to-video request, made ready for the VAE encoder: checked against the wire's limits
 * (shared/wire/image-limits.ts: bytes, type from the magic bytes, the sides its header declares), decoded by ffmpeg
 * (PNG, JPEG, WebP, a GIF's first frame, an animated WebP's first frame) and fitted to the clip's width × height in
 * the same ffmpeg run, as packed RGB24.
 *
 * Fitting (`fit`):
 * - 'crop' (the default, what the daemon uses): scale uniformly until the image covers the clip, then cut the
 *   middle out; nothing is distorted and nothing is padded, the overhang of the longer side is lost evenly from
 *   both ends (one pixel more from the right/bottom when it is odd).
 * - 'letterbox': scale uniformly until the image fits inside, centred on black bars.
 * Shrinking averages areas (ffmpeg `flags=area`), enlarging is bicubic. Transparent pixels are composited over
 * black, as the clip decoder (decode.ts) shows them.
 *
 * Orientation: a JPEG, PNG or WebP is first turned the way its EXIF Orientation says (exif-orientation.ts: a phone
 * photo taken sideways starts the clip upright), and the fit is worked out on the sides as shown (swapped for 5..8).
 * ffmpeg's own autorotation is switched off, so a build that applies the tag itself cannot turn the image a second
 * time. A GIF has no Exif and is used as stored.
 *
 * Why the limits come first: the sides are read from the header, so a decompression bomb (a tiny file whose header
 * claims 30000 × 30000) is refused before a decoder allocates anything; ffmpeg also gets `-max_pixels` and a time
 * limit as a second fence, and its output is bounded by construction (one frame of width × height × 4 bytes).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CodedError } from '../../shared/errors.ts';
import { checkImage, describeImageRule, MAX_IMAGE_SIDE, type ImageHeader, type ImageType, type ImageViolation } from '../../shared/wire/image-limits.ts';
import { DecodeFailedError, isMediaError } from './errors.ts';
import { imageOrientation, orientationFilters, uprightSize, type ExifOrientation } from './exif-orientation.ts';
import { fileInputCommand, runFfmpeg, withTempDir } from './run.ts';
import { parseWebp } from './webp-container.ts';

export type ImageFit = 'crop' | 'letterbox';

/** The fitted image: exactly width × height × 3 bytes of RGB24, row-major. */
export interface FittedImage {
  width: number;
  height: number;
  rgb: Uint8Array;
  /** What the header said (the sides as stored, before `orientation`), for logs and messages. */
  source: ImageHeader;
  /** The EXIF orientation applied before fitting; 1 (as stored) for a GIF or an image that carries none. */
  orientation: ExifOrientation;
}

export interface DecodeImageOptions {
  /** GenerateRequest.image_mime_type; empty or absent: the type is sniffed from the bytes. */
  mimeType?: string | undefined;
  /** The clip's size in pixels. */
  width: number;
  height: number;
  fit?: ImageFit;
  signal?: AbortSignal | undefined;
  /** Longest an ffmpeg decode may take. Default 20 s: a legitimate 4096² image takes well under one. */
  timeoutMs?: number;
}

export const ImageInputErrorCode = {
  /** The attachment breaks a limit of shared/wire/image-limits.ts; `violation` says which. */
  Refused: 'IMAGE_REFUSED',
  /** It passed the limits but ffmpeg could not decode it (damaged, truncated, a variant the decoder lacks). */
  Undecodable: 'IMAGE_UNDECODABLE',
} as const;
export type ImageInputErrorCode = (typeof ImageInputErrorCode)[keyof typeof ImageInputErrorCode];

/**
 * Why an image cannot be used. `field` is the wire field at fault ("image" or "image_mime_type") and the message is
 * written for the requester (no server paths); `detail` keeps ffmpeg's own words for the log.
 */
export class ImageInputError extends CodedError<ImageInputErrorCode> {
  constructor(
    code: ImageInputErrorCode,
    readonly field: 'image' | 'image_mime_type',
    message: string,
    readonly violation?: ImageViolation,
    readonly detail?: string,
  ) {
    super(code, message);
  }
}

/** The header of an acceptable image, or ImageInputError(Refused) naming the first limit it breaks. */
export function inspectImage(data: Uint8Array, mimeType = ''): ImageHeader {
  const checked = checkImage(data, mimeType);
  if ('violation' in checked) {
    const v = checked.violation;
    throw new ImageInputError(ImageInputErrorCode.Refused, v.field, describeImageRule(v), v);
  }
  return checked.header;
}

/** Where the scaled image lies: scaled to scaledWidth × scaledHeight, then cropped at (x, y) or padded to (x, y). */
export interface FitRect {
  scaledWidth: number;
  scaledHeight: number;
  /** crop: the cut's top-left corner in the scaled image; letterbox: the scaled image's corner in the clip. */
  x: number;
  y: number;
}

/** The arithmetic of `fit` for a source of `src` pixels and a clip of `target` pixels (see the header). */
export function fitRect(src: { width: number; height: number }, target: { width: number; height: number }, fit: ImageFit = 'crop'): FitRect {
  const sx = target.width / src.width;
  const sy = target.height / src.height;
  if (fit === 'crop') {
    const s = Math.max(sx, sy);
    // The covering side is exact; the other is rounded and never under the clip's.
    const scaledWidth = sx >= sy ? target.width : Math.max(target.width, Math.round(src.width * s));
    const scaledHeight = sy >= sx ? target.height : Math.max(target.height, Math.round(src.height * s));
    return { scaledWidth, scaledHeight, x: Math.floor((scaledWidth - target.width) / 2), y: Math.floor((scaledHeight - target.height) / 2) };
  }
  const s = Math.min(sx, sy);
  const scaledWidth = sx <= sy ? target.width : Math.min(target.width, Math.max(1, Math.round(src.width * s)));
  const scaledHeight = sy <= sx ? target.height : Math.min(target.height, Math.max(1, Math.round(src.height * s)));
  return { scaledWidth, scaledHeight, x: Math.floor((target.width - scaledWidth) / 2), y: Math.floor((target.height - scaledHeight) / 2) };
}

/** ffmpeg's demuxer per type: named explicitly, so the bytes are never read as anything but what was checked. */
const DEMUXERS: Readonly<Record<ImageType, string>> = { png: 'png_pipe', jpeg: 'jpeg_pipe', webp: 'webp_pipe', gif: 'gif' };

/** Checks, decodes and fits `data` to options.width × options.height. Throws ImageInputError for the requester. */
export async function decodeImageInput(data: Uint8Array, options: DecodeImageOptions): Promise<FittedImage> {
  const header = inspectImage(data, options.mimeType);
  const { width, height } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new RangeError(`decodeImageInput: the clip size ${width}x${height} is not 1..${MAX_IMAGE_SIDE} pixels a side`);
  }
  const { still, canvas } = firstFrame(header, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  // The limits checked above bound both sides alike (MAX_IMAGE_SIDE, MIN_IMAGE_SIDE), so they hold for the upright
  // sides too; the fit must use the upright sides.
  const orientation = imageOrientation(header.type, data);
  const upright = uprightSize(header, orientation);
  const rect = fitRect(upright, { width, height }, options.fit ?? 'crop');
  const graph = filterGraph(upright, orientation, canvas, rect, { width, height }, options.fit ?? 'crop');

  const timeoutMs = options.timeoutMs ?? 20_000;
  const limit = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, limit]) : limit;
  const rgba = await withTempDir(async (dir) => {
    const input = path.join(dir, `image.${header.type}`);
    const output = path.join(dir, 'image.rgba');
    await writeFile(input, still);
    const command = await fileInputCommand(input, ['-noautorotate', '-f', DEMUXERS[header.type], '-max_pixels', String(MAX_IMAGE_SIDE * MAX_IMAGE_SIDE)]);
    command.output(output).outputOptions(['-frames:v', '1', '-vf', graph, '-pix_fmt', 'rgba', '-f', 'rawvideo']);
    try {
      await runFfmpeg(command, { signal, what: `Decoding the ${header.type.toUpperCase()} image`, fail: (message, stderr) => new DecodeFailedError(message, { stderr }) });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (limit.aborted) throw undecodable(header, `it took longer than ${Math.round(timeoutMs / 1000)} s to decode`);
      throw undecodable(header, 'its data is damaged or truncated, or uses a variant the decoder lacks', err);
    }
    return readFile(output);
  });
  if (rgba.length !== width * height * 4) {
    throw undecodable(header, `it decoded to ${rgba.length} bytes, not one ${width}×${height} frame`);
  }
  return { width, height, rgb: overBlack(rgba), source: header, orientation };
}

function undecodable(header: ImageHeader, why: string, cause?: unknown): ImageInputError {
  // ffmpeg's words (with the temp folder's path in them) go to the log through `detail`, never to the requester.
  const detail = cause instanceof Error ? cause.message : undefined;
  return new ImageInputError(ImageInputErrorCode.Undecodable, 'image', `the ${header.type.toUpperCase()} image (${header.width}×${header.height}) cannot be decoded: ${why}`, undefined, detail);
}

/**
 * The bytes ffmpeg decodes and where they go on the canvas. ffmpeg (through 6.x) cannot demux an animated WebP, so
 * its first frame is cut out as a still WebP (webp-container.ts) and placed at its offset on the canvas.
 */
function firstFrame(header: ImageHeader, data: Buffer): { still: Buffer; canvas: { x: number; y: number; width: number; height: number } | undefined } {
  if (header.type !== 'webp') return { still: data, canvas: undefined };
  let info;
  try {
    info = parseWebp(data);
  } catch (err) {
    throw undecodable(header, isMediaError(err) ? err.message : 'its container cannot be read', err);
  }
  const frame = info.frames[0];
  if (!info.animated || frame === undefined) return { still: data, canvas: undefined };
  if (frame.x + frame.width > info.width || frame.y + frame.height > info.height) throw undecodable(header, 'its first frame lies outside its canvas');
  const covers = frame.x === 0 && frame.y === 0 && frame.width === info.width && frame.height === info.height;
  return { still: frame.still, canvas: covers ? undefined : { x: frame.x, y: frame.y, width: info.width, height: info.height } };
}

/** `upright`: the sides once `orientation` is applied, which `rect` was worked out for. */
function filterGraph(upright: { width: number; height: number }, orientation: ExifOrientation, canvas: { x: number; y: number; width: number; height: number } | undefined, rect: FitRect, target: { width: number; height: number }, fit: ImageFit): string {
  // RGBA first, so scaling happens on RGB(A) samples whatever the decoder's own format (JPEG's is YUV).
  const steps = ['format=rgba', ...orientationFilters(orientation)];
  if (canvas) steps.push(`pad=${canvas.width}:${canvas.height}:${canvas.x}:${canvas.y}:color=black@0`);
  if (rect.scaledWidth !== upright.width || rect.scaledHeight !== upright.height) {
    const shrinking = rect.scaledWidth * rect.scaledHeight < upright.width * upright.height;
    steps.push(`scale=${rect.scaledWidth}:${rect.scaledHeight}:flags=${shrinking ? 'area' : 'bicubic'}`);
  }
  if (fit === 'crop') {
    if (rect.scaledWidth !== target.width || rect.scaledHeight !== target.height) steps.push(`crop=${target.width}:${target.height}:${rect.x}:${rect.y}`);
  } else if (rect.scaledWidth !== target.width || rect.scaledHeight !== target.height) {
    steps.push(`pad=${target.width}:${target.height}:${rect.x}:${rect.y}:color=black`);
  }
  return steps.join(',');
}

/** RGBA → RGB24 composited over black (a transparent pixel becomes black, a half-transparent one half as bright). */
function overBlack(rgba: Uint8Array): Uint8Array {
  const pixels = rgba.length / 4;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const a = rgba[i * 4 + 3] ?? 255;
    for (let c = 0; c < 3; c++) {
      const v = rgba[i * 4 + c] ?? 0;
      rgb[i * 3 + c] = a === 255 ? v : Math.round((v * a) / 255);
    }
  }
  return rgb;
}
