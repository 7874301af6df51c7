/**
 * Encode and preview options: typed, documented defaults, validated once with zod at the module's edge.
 */
import { z } from 'zod';
import { CLIP_FORMATS, PREVIEW_FORMATS, type ClipFormat, type PreviewFormat } from '../../shared/wire/formats.ts';
import { InvalidMediaOptionsError } from './errors.ts';

// The formats are the wire's (shared/wire/formats.ts); re-exported so the media module stays one import.
export { CLIP_FORMATS, PREVIEW_FORMATS, type ClipFormat, type PreviewFormat };

/** Largest side of an encoded clip after upscaling; beyond this chat clients will not play it inline anyway. */
export const MAX_OUTPUT_SIDE = 4096;
export const MIN_PREVIEW_SIDE = 8;
export const MAX_PREVIEW_SIDE = 1024;

export interface EncodeOptions {
  format: ClipFormat;
  /** Integer nearest-neighbour upscaling, 1..4. Default 1 (no scaling). */
  upscale?: number;
  /** Kills ffmpeg and rejects with code ABORTED when fired. */
  signal?: AbortSignal;
}

/** fitClip's options as checked here: EncodeOptions and the byte limit it fits to (a positive integer). */
export interface BoundedEncodeOptions extends EncodeOptions {
  maxBytes?: number;
}

export interface PreviewOptions {
  format: PreviewFormat;
  /**
   * Longest side of the preview in pixels (8..1024). Bigger videos are scaled down to fit; small ones (latent-sized
   * previews) are enlarged by the largest integer nearest-neighbour factor that fits, so pixels stay crisp.
   */
  maxSide: number;
  signal?: AbortSignal;
}

const encodeOptionsSchema = z.object({
  format: z.enum(CLIP_FORMATS),
  upscale: z.int().min(1).max(4).optional(),
  signal: z.instanceof(AbortSignal).optional(),
  maxBytes: z.int().positive().optional(),
});

const previewOptionsSchema = z.object({
  format: z.enum(PREVIEW_FORMATS),
  maxSide: z.int().min(MIN_PREVIEW_SIDE).max(MAX_PREVIEW_SIDE),
  signal: z.instanceof(AbortSignal).optional(),
});

export interface ResolvedEncodeOptions {
  format: ClipFormat;
  upscale: number;
  signal: AbortSignal | undefined;
  maxBytes: number | undefined;
}

export function parseEncodeOptions(options: BoundedEncodeOptions): ResolvedEncodeOptions {
  const parsed = parseOrThrow(encodeOptionsSchema, options, 'encode options');
  return {
    format: parsed.format,
    upscale: parsed.upscale ?? 1,
    signal: parsed.signal,
    maxBytes: parsed.maxBytes,
  };
}

export interface ResolvedPreviewOptions {
  format: PreviewFormat;
  maxSide: number;
  signal: AbortSignal | undefined;
}

export function parsePreviewOptions(options: PreviewOptions): ResolvedPreviewOptions {
  const parsed = parseOrThrow(previewOptionsSchema, options, 'preview options');
  return { format: parsed.format, maxSide: parsed.maxSide, signal: parsed.signal };
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : what}: ${issue.message}`)
    .join('; ');
  throw new InvalidMediaOptionsError(`Invalid ${what}: ${problems}.`);
}
