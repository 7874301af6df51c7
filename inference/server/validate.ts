// Validation of GenerateRequest: every field checked once, here at the edge. Errors name the field and what it allows.
import { InvalidArgumentError } from '../errors.ts';
import { excerpt } from './excerpt.ts';
import type { ModelPackage } from '../model/package.ts';
import { SCHEDULER_NAMES, type SchedulerName } from '../schedulers/index.ts';
import type { GenerationParams } from '../pipeline/model-runtime.ts';
import { randomSeed } from '../pipeline/rng.ts';
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';

export type ClipFormatName = 'mp4' | 'gif' | 'webp';

/** A validated request: the generation parameters plus what the daemon needs around them. */
export interface JobSpec extends Omit<GenerationParams, 'previewEvery' | 'previewMaxSide'> {
  requestId: string;
  model: string;
  fps: number;
  formats: ClipFormatName[];
  upscale: number;
  preview: { enabled: boolean; everyNSteps: number; maxSide: number; format: 'webp' | 'gif' };
  requester: { userId: string; channelId: string; platform: string; serverId: string; displayName: string };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const FORMAT_NAMES: Record<string, ClipFormatName> = { MP4: 'mp4', OUTPUT_FORMAT_UNSPECIFIED: 'mp4', GIF: 'gif', WEBP: 'webp' };

function inRange(field: string, value: number, min: number, max: number, integer = true): number {
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new InvalidArgumentError(field, `${value} is out of range; allowed: ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

function shortText(field: string, value: string, max: number): string {
  if (value.length > max) throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${max} allowed`);
  return value;
}

/** Width and height for an aspect ratio, keeping the model's default pixel area, on the size grid. */
export function sizeForAspect(aspect: string, pkg: ModelPackage): { width: number; height: number } {
  const { defaults, limits } = pkg.config;
  const [a, b] = aspect.split(':').map(Number) as [number, number];
  const area = defaults.width * defaults.height;
  const snap = (v: number) => Math.min(limits.max_side, Math.max(limits.min_side, Math.round(v / limits.size_multiple) * limits.size_multiple));
  return { width: snap(Math.sqrt((area * a) / b)), height: snap(Math.sqrt((area * b) / a)) };
}

export function validateGenerateRequest(req: GenerateRequest__Output, pkg: ModelPackage, makeRequestId: () => string): JobSpec {
  const { defaults, limits, vae_scale_factor_temporal: tf } = pkg.config;

  const prompt = req.prompt.trim();
  if (!prompt) throw new InvalidArgumentError('prompt', 'is empty; describe the clip, e.g. "a red ball bouncing at sunset"');
  shortText('prompt', prompt, limits.max_prompt_chars);
  const negativePrompt = shortText('negative_prompt', req.negativePrompt.trim(), limits.max_prompt_chars);

  const steps = inRange('steps', req.steps ?? defaults.steps, limits.min_steps, limits.max_steps);
  const guidanceScale = inRange('guidance_scale', req.guidanceScale ?? defaults.guidance_scale, limits.min_guidance, limits.max_guidance, false);
  const frames = inRange('frames', req.frames ?? defaults.frames, limits.min_frames, limits.max_frames);
  if ((frames - 1) % tf !== 0) {
    const lower = frames - ((frames - 1) % tf);
    throw new InvalidArgumentError('frames', `${frames} is not 1 + a multiple of ${tf} (this model compresses time ${tf}×); try ${lower} or ${lower + tf}`);
  }
  const fps = inRange('fps', req.fps ?? defaults.fps, limits.min_fps, limits.max_fps);

  let width = defaults.width;
  let height = defaults.height;
  const hasSize = req.width !== undefined || req.height !== undefined;
  if (hasSize && req.aspect) throw new InvalidArgumentError('aspect', 'give either aspect or width and height, not both');
  if (hasSize) {
    if (req.width === undefined || req.height === undefined) throw new InvalidArgumentError(req.width === undefined ? 'width' : 'height', 'width and height must be given together');
    for (const [field, v] of [['width', req.width], ['height', req.height]] as const) {
      inRange(field, v, limits.min_side, limits.max_side);
      if (v % limits.size_multiple !== 0) throw new InvalidArgumentError(field, `${v} is not a multiple of ${limits.size_multiple}; allowed: multiples of ${limits.size_multiple} from ${limits.min_side} to ${limits.max_side}`);
    }
    width = req.width;
    height = req.height;
  } else if (req.aspect) {
    if (!limits.aspects.includes(req.aspect)) throw new InvalidArgumentError('aspect', `"${excerpt(req.aspect)}" is not supported; allowed: ${limits.aspects.join(', ')}`);
    ({ width, height } = sizeForAspect(req.aspect, pkg));
  }

  const upscale = inRange('upscale', req.upscale ?? 1, 1, 4);

  const formats: ClipFormatName[] = [];
  for (const raw of req.formats.length ? req.formats : ['MP4']) {
    const name = FORMAT_NAMES[String(raw)];
    if (!name) throw new InvalidArgumentError('formats', `unknown format ${excerpt(String(raw))}; allowed: MP4, GIF, WEBP`);
    if (formats.includes(name)) throw new InvalidArgumentError('formats', `${excerpt(String(raw))} is listed twice; list each format at most once`);
    formats.push(name);
  }

  let scheduler = pkg.defaultScheduler;
  if (req.scheduler) {
    if (!(SCHEDULER_NAMES as readonly string[]).includes(req.scheduler)) throw new InvalidArgumentError('scheduler', `"${excerpt(req.scheduler)}" is unknown; allowed: ${SCHEDULER_NAMES.join(', ')}`);
    scheduler = req.scheduler as SchedulerName;
  }

  const p = req.preview;
  const everyNSteps = p?.everyNSteps !== undefined ? inRange('preview.every_n_steps', p.everyNSteps, 1, steps) : Math.min(defaults.preview_every_n_steps, steps);
  const maxSide = p?.maxSide !== undefined ? inRange('preview.max_side', p.maxSide, 32, 512) : 128;
  const previewFormat = p?.format === 'GIF_PREVIEW' ? 'gif' : 'webp';

  let requestId = req.requestId;
  if (requestId && !REQUEST_ID.test(requestId)) throw new InvalidArgumentError('request_id', 'allowed: 1 to 128 characters of letters, digits, ".", "_", ":" and "-"');
  if (!requestId) requestId = makeRequestId();

  const r = req.requester;
  const requester = {
    userId: shortText('requester.user_id', r?.userId ?? '', 128),
    channelId: shortText('requester.channel_id', r?.channelId ?? '', 128),
    platform: String(r?.platform ?? 'PLATFORM_UNSPECIFIED'),
    serverId: shortText('requester.server_id', r?.serverId ?? '', 128),
    displayName: shortText('requester.display_name', r?.displayName ?? '', 128),
  };

  return {
    requestId,
    model: pkg.name,
    prompt,
    negativePrompt,
    seed: req.seed ?? randomSeed(),
    steps,
    guidanceScale,
    frames,
    width,
    height,
    fps,
    scheduler,
    formats,
    upscale,
    preview: { enabled: !p?.disabled, everyNSteps, maxSide, format: previewFormat },
    requester,
  };
}
