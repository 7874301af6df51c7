// AnimateOptions (+ who asked, + which surface) → the wire GenerateRequest. The only place that knows both.
import type { GenerateRequest, ModelInfo__Output, Requester as WireRequester } from '../../shared/rpc/types.ts';
import { CLIP_FORMAT_TO_WIRE, DEFAULT_CLIP_FORMAT, DEFAULT_PREVIEW_FORMAT, PREVIEW_FORMAT_TO_WIRE, type ClipFormat } from '../../shared/wire/formats.ts';
import { checkImage, describeImageRule } from '../../shared/wire/image-limits.ts';
import { PLATFORM_TO_WIRE } from '../../shared/wire/platforms.ts';
import type { ChatAdapter, Requester } from './adapter.ts';
import { InvalidOptionsError } from './errors.ts';
import { DEFAULT_FPS, DEFAULT_TEMPORAL_FACTOR, framesForDuration, type AnimateOptions } from './options.ts';

/** max_clip_bytes is a uint32: a larger limit is as good as none. */
const MAX_CLIP_BYTES = 0xffff_ffff;

export function toWireRequester(r: Requester): WireRequester {
  return { userId: r.userId, channelId: r.channelId, platform: PLATFORM_TO_WIRE[r.platform], serverId: r.serverId ?? '', displayName: r.displayName ?? '' };
}

export interface BuildRequestContext {
  jobId: string;
  requester: Requester;
  adapter: ChatAdapter;
  /** The model's ListModels entry, when known: duration → frames uses its fps and temporal factor. */
  model?: ModelInfo__Output | undefined;
  /** Overrides options.seed (variants use neighbouring seeds). */
  seed?: number | undefined;
}

export function buildGenerateRequest(options: AnimateOptions, ctx: BuildRequestContext): GenerateRequest {
  const formats = (ctx.adapter.clipFormats?.length ? ctx.adapter.clipFormats : [DEFAULT_CLIP_FORMAT]).map((f) => CLIP_FORMAT_TO_WIRE[f]);
  const request: GenerateRequest = {
    prompt: options.prompt,
    negativePrompt: options.negative ?? '',
    aspect: options.aspect ?? '',
    model: options.model ?? '',
    formats: [...new Set(formats)],
    requestId: ctx.jobId,
    requester: toWireRequester(ctx.requester),
    preview: {
      disabled: false,
      format: PREVIEW_FORMAT_TO_WIRE[ctx.adapter.previewFormat ?? DEFAULT_PREVIEW_FORMAT],
      ...(ctx.adapter.previewMaxSide !== undefined ? { maxSide: ctx.adapter.previewMaxSide } : {}),
    },
  };
  // The daemon fits the clip to the platform's upload limit from its frames (a surface may narrow the limit per job).
  const limit = ctx.adapter.limits.maxUploadBytes;
  if (Number.isFinite(limit) && limit >= 1) request.maxClipBytes = Math.min(Math.floor(limit), MAX_CLIP_BYTES);
  // Image-to-video (and Extend): the attached image as sent. It was checked when it was attached (checkImageAttachment
  // below, so a person hears at once, not from here, after the job is recorded); the daemon checks again, decodes it
  // and fits it to the clip.
  if (options.image) {
    request.image = options.image.bytes;
    request.imageMimeType = options.image.mimeType;
  }
  // A style (checked against the model's list when the bot had it; the daemon checks again) and its strength, only with it.
  if (options.style) {
    request.style = options.style;
    if (options.styleStrength !== undefined) request.styleStrength = options.styleStrength;
  }
  const seed = ctx.seed ?? options.seed;
  if (seed !== undefined) request.seed = seed;
  if (options.steps !== undefined) request.steps = options.steps;
  if (options.guidance !== undefined) request.guidanceScale = options.guidance;
  if (options.fps !== undefined) request.fps = options.fps;
  if (options.frames !== undefined) request.frames = options.frames;
  else if (options.duration !== undefined) {
    const fps = options.fps ?? (ctx.model?.defaults?.fps || DEFAULT_FPS);
    const limits = ctx.model?.limits;
    request.frames = framesForDuration(
      options.duration,
      fps,
      limits?.temporalFactor || DEFAULT_TEMPORAL_FACTOR,
      limits?.minFrames || 1,
      limits?.maxFrames || Number.MAX_SAFE_INTEGER,
    );
  }
  return request;
}

/**
 * The daemon's image limits (bytes, type from the magic bytes agreeing with the stated one, sides from the header),
 * applied to an attachment before anything is sent: throws InvalidOptionsError on the `image` option, worded for the
 * person who attached it. The same rules as the daemon's (shared/wire/image-limits.ts), so neither side surprises.
 */
export function checkImageAttachment(image: { bytes: Uint8Array; mimeType?: string | undefined; name?: string | undefined }): void {
  const checked = checkImage(image.bytes, image.mimeType ?? '');
  if ('header' in checked) return;
  const v = checked.violation;
  const what = image.name ? `The attached image "${image.name.slice(0, 80)}"` : 'The attached image';
  throw new InvalidOptionsError(`${what}${v.field === 'image_mime_type' ? "'s type" : ''} ${describeImageRule(v)}.`, 'image');
}

/** A file name people recognise: "a-red-ball-bounces-seed42.mp4". */
export function clipFileName(prompt: string, seed: number, format: ClipFormat): string {
  const slug = prompt.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '') || 'clip';
  return `${slug}-seed${seed}.${format}`;
}
