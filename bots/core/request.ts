// AnimateOptions (+ who asked, + which surface) → the wire GenerateRequest. The only place that knows both.
import type { GenerateRequest, ModelInfo__Output, OutputFormat, Platform, Requester as WireRequester } from '../../shared/rpc/types.ts';
import type { ChatAdapter, ClipFormat, PlatformName, Requester } from './adapter.ts';
import { DEFAULT_FPS, DEFAULT_TEMPORAL_FACTOR, framesForDuration, type AnimateOptions } from './options.ts';

const PLATFORM: Record<PlatformName, Platform> = {
  discord: 'DISCORD',
  slack: 'SLACK',
  playground: 'PLAYGROUND',
  cli: 'CLI',
  plugin: 'PLUGIN',
};

const FORMAT: Record<ClipFormat, OutputFormat> = { mp4: 'MP4', gif: 'GIF', webp: 'WEBP' };

export const MIME_TO_FORMAT: Readonly<Record<string, ClipFormat>> = { 'video/mp4': 'mp4', 'image/gif': 'gif', 'image/webp': 'webp' };
export const WIRE_TO_FORMAT: Readonly<Record<string, ClipFormat>> = { MP4: 'mp4', GIF: 'gif', WEBP: 'webp', OUTPUT_FORMAT_UNSPECIFIED: 'mp4' };

export function toWireRequester(r: Requester): WireRequester {
  return { userId: r.userId, channelId: r.channelId, platform: PLATFORM[r.platform], serverId: r.serverId ?? '', displayName: r.displayName ?? '' };
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
  const formats = (ctx.adapter.clipFormats?.length ? ctx.adapter.clipFormats : ['mp4' as const]).map((f) => FORMAT[f]);
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
      format: ctx.adapter.previewFormat === 'gif' ? 'GIF_PREVIEW' : 'WEBP_PREVIEW',
      ...(ctx.adapter.previewMaxSide !== undefined ? { maxSide: ctx.adapter.previewMaxSide } : {}),
    },
  };
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

/** A file name people recognise: "a-red-ball-bounces-seed42.mp4". */
export function clipFileName(prompt: string, seed: number, format: ClipFormat): string {
  const slug = prompt.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '') || 'clip';
  return `${slug}-seed${seed}.${format}`;
}
