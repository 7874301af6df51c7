// Validation of GenerateRequest: every field checked once, here at the edge. Errors name the field and what it allows.
// The model-limit rules themselves are shared with the bots (shared/wire/model-limits.ts); this module words their
// violations for the wire and checks what only the daemon knows (request shape, preview, scheduler, request id).
import { InvalidArgumentError } from '../errors.ts';
import { excerpt } from '../excerpt.ts';
import type { ModelPackage } from '../model/package.ts';
import { findStyle } from '../model/lora/styles.ts';
import { SCHEDULER_NAMES, type SchedulerName } from '../schedulers/index.ts';
import type { StyleChoice, TextToVideoParams } from '../pipeline/text-to-video.ts';
import { randomSeed } from '../pipeline/rng.ts';
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';
import { clipFormatFromWire, CLIP_FORMAT_TO_WIRE, DEFAULT_CLIP_FORMAT, previewFormatFromWire, WIRE_CLIP_FORMAT_NAMES, type ClipFormat, type PreviewFormat } from '../../shared/wire/formats.ts';
import { checkImage, describeImageRule, type ImageHeader } from '../../shared/wire/image-limits.ts';
import { DEFAULT_STYLE_STRENGTH, MAX_STYLE_STRENGTH, MIN_STYLE_STRENGTH, roundStyleStrength, styleStrengthAsSent } from '../../shared/wire/styles.ts';
import { findLimitViolation, sizeForAspect as sizeOnGrid, type LimitedValues, type LimitRule, type ModelDefaults, type ModelLimits } from '../../shared/wire/model-limits.ts';

/** A validated request: the generation parameters plus what the daemon needs around them. */
export interface JobSpec extends Omit<TextToVideoParams, 'previewEvery' | 'previewMaxSide' | 'image'> {
  requestId: string;
  model: string;
  fps: number;
  formats: ClipFormat[];
  upscale: number;
  /** GenerateRequest.max_clip_bytes: each clip is fitted under it (media/fit.ts); undefined = no limit. */
  maxClipBytes: number | undefined;
  preview: { enabled: boolean; everyNSteps: number; maxSide: number; format: PreviewFormat };
  requester: { userId: string; channelId: string; platform: string; serverId: string; displayName: string };
  /**
   * GenerateRequest.image as sent (its limits checked, its header read); decoded and fitted to width × height when
   * the job runs (generation.ts, media/image-input.ts). Absent for text-to-video.
   */
  inputImage?: InputImage;
}

/** An image-to-video request's image: the bytes as sent, with what their header says. */
export interface InputImage {
  data: Uint8Array;
  mimeType: string;
  header: ImageHeader;
}

/**
 * GenerateRequest.image and image_mime_type, checked against the wire's limits (shared/wire/image-limits.ts) and
 * against the model: only a package with vae_encoder/ can start a clip from an image. Undefined when neither is set.
 */
export function validateImage(req: Pick<GenerateRequest__Output, 'image' | 'imageMimeType'>, pkg: ModelPackage): InputImage | undefined {
  const data = req.image ?? new Uint8Array(0);
  const mimeType = (req.imageMimeType ?? '').trim();
  if (data.length === 0 && mimeType.length === 0) return undefined;
  if (data.length > 0 && pkg.onnx.vae_encoder === undefined) {
    throw new InvalidArgumentError('image', `model "${pkg.name}" cannot start a clip from an image (its package has no vae_encoder/model.onnx); send the request without an image, or choose a model that takes one`);
  }
  const checked = checkImage(data, mimeType);
  if ('violation' in checked) throw new InvalidArgumentError(checked.violation.field, describeImageRule(checked.violation));
  return { data, mimeType, header: checked.header };
}

/** The largest uint32: max_clip_bytes may be anything the wire can carry, from 1 byte up. */
const MAX_UINT32 = 0xffff_ffff;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request_id as a client sent it (Generate, Cancel): returned when it keeps the rule, else INVALID_ARGUMENT. */
export function checkRequestId(requestId: string): string {
  if (!REQUEST_ID.test(requestId)) throw new InvalidArgumentError('request_id', 'allowed: 1 to 128 characters of letters, digits, ".", "_", ":" and "-"');
  return requestId;
}

/** Ranges of the daemon's own fields (not the model's), worded as the model's are. */
function inRange(field: string, value: number, min: number, max: number, integer = true): number {
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new InvalidArgumentError(field, describeLimitViolation({ rule: 'range', value, min, max, integer }));
  }
  return value;
}

function shortText(field: string, value: string, max: number): string {
  if (value.length > max) throw new InvalidArgumentError(field, describeLimitViolation({ rule: 'too_long', length: value.length, max }));
  return value;
}

/** A package's limits in the wire's shape (ListModels sends these; the shared rules read them). */
export function wireModelLimits(pkg: ModelPackage): ModelLimits {
  const l = pkg.config.limits;
  return {
    minSteps: l.min_steps, maxSteps: l.max_steps, minGuidance: l.min_guidance, maxGuidance: l.max_guidance, minFrames: l.min_frames, maxFrames: l.max_frames,
    temporalFactor: pkg.config.vae_scale_factor_temporal, sizeMultiple: l.size_multiple, minSide: l.min_side, maxSide: l.max_side,
    minFps: l.min_fps, maxFps: l.max_fps, aspects: l.aspects, maxPromptChars: l.max_prompt_chars,
  };
}

/** A package's defaults in the wire's shape. */
export function wireModelDefaults(pkg: ModelPackage): ModelDefaults {
  const d = pkg.config.defaults;
  return { steps: d.steps, guidanceScale: d.guidance_scale, frames: d.frames, width: d.width, height: d.height, fps: d.fps, scheduler: pkg.defaultScheduler, previewEveryNSteps: d.preview_every_n_steps };
}

/** A model-limit violation in the daemon's words: "field: what is wrong; allowed: what is". */
export function describeLimitViolation(v: LimitRule): string {
  switch (v.rule) {
    case 'empty':
      return 'is empty; describe the clip, e.g. "a pink heart grows in the sky"';
    case 'too_long':
      return `is ${v.length} characters long; at most ${v.max} allowed`;
    case 'range':
      return `${v.value} is out of range; allowed: ${v.integer ? 'an integer' : 'a number'} from ${v.min} to ${v.max}`;
    case 'frames_grid':
      return `${v.value} is not 1 + a multiple of ${v.temporalFactor} (this model compresses time ${v.temporalFactor}×); try ${v.below} or ${v.above}`;
    case 'size_grid':
      return `${v.value} is not a multiple of ${v.multiple}; allowed: multiples of ${v.multiple} from ${v.min} to ${v.max}`;
    case 'not_listed':
      return `"${excerpt(v.value)}" is not supported; allowed: ${v.allowed.join(', ')}`;
  }
}

/** Throws INVALID_ARGUMENT for the first value outside the model's limits. */
function checkLimits(values: LimitedValues, limits: ModelLimits): void {
  const violation = findLimitViolation(values, limits);
  if (violation) throw new InvalidArgumentError(violation.field, describeLimitViolation(violation));
}

export function validateGenerateRequest(req: GenerateRequest__Output, pkg: ModelPackage, makeRequestId: () => string): JobSpec {
  const { defaults } = pkg.config;
  const limits = wireModelLimits(pkg);

  const prompt = req.prompt.trim();
  const negativePrompt = req.negativePrompt.trim();
  const steps = req.steps ?? defaults.steps;
  const guidanceScale = req.guidanceScale ?? defaults.guidance_scale;
  const frames = req.frames ?? defaults.frames;
  const fps = req.fps ?? defaults.fps;
  checkLimits({ prompt, negativePrompt, steps, guidanceScale, frames, fps }, limits);

  let width = defaults.width;
  let height = defaults.height;
  const hasSize = req.width !== undefined || req.height !== undefined;
  if (hasSize && req.aspect) throw new InvalidArgumentError('aspect', 'give either aspect or width and height, not both');
  if (hasSize) {
    if (req.width === undefined || req.height === undefined) throw new InvalidArgumentError(req.width === undefined ? 'width' : 'height', 'width and height must be given together');
    checkLimits({ width: req.width, height: req.height }, limits);
    width = req.width;
    height = req.height;
  } else if (req.aspect) {
    checkLimits({ aspect: req.aspect }, limits);
    ({ width, height } = sizeOnGrid(req.aspect, limits, defaults));
  }

  const inputImage = validateImage(req, pkg);
  const style = validateStyle(req, pkg);
  const upscale = inRange('upscale', req.upscale ?? 1, 1, 4);
  const maxClipBytes = req.maxClipBytes !== undefined ? inRange('max_clip_bytes', req.maxClipBytes, 1, MAX_UINT32) : undefined;

  const formats: ClipFormat[] = [];
  for (const raw of req.formats.length ? req.formats : [CLIP_FORMAT_TO_WIRE[DEFAULT_CLIP_FORMAT]]) {
    const name = clipFormatFromWire(raw);
    if (!name) throw new InvalidArgumentError('formats', `unknown format ${excerpt(String(raw))}; allowed: ${WIRE_CLIP_FORMAT_NAMES.join(', ')}`);
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
  const previewFormat = previewFormatFromWire(p?.format);

  let requestId = req.requestId;
  if (requestId) checkRequestId(requestId);
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
    maxClipBytes,
    preview: { enabled: !p?.disabled, everyNSteps, maxSide, format: previewFormat },
    requester,
    ...(inputImage ? { inputImage } : {}),
    ...(style ? { style } : {}),
  };
}

/**
 * GenerateRequest.style and style_strength: a style the model has (its package's loras/), at 0..2 (absent: 1; used at
 * the wire's step, STYLE_STRENGTH_STEP 0.05). Undefined without a style. A strength without a style is refused, as a value that would change nothing.
 */
export function validateStyle(req: Pick<GenerateRequest__Output, 'style' | 'styleStrength'>, pkg: ModelPackage): StyleChoice | undefined {
  const name = (req.style ?? '').trim();
  if (!name) {
    if (req.styleStrength !== undefined) throw new InvalidArgumentError('style_strength', 'is set but no style is given; name one of the model\'s styles in style, or leave style_strength out');
    return undefined;
  }
  findStyle(pkg, name);
  const strength = req.styleStrength ?? DEFAULT_STYLE_STRENGTH;
  // A float on the wire: 0.7 arrives as 0.699999988, so the range is checked on the value as sent (to 0.001), and the
  // strength kept is the one the merge uses (to the wire's step), which Done reports.
  const sent = styleStrengthAsSent(strength);
  if (!Number.isFinite(strength) || sent < MIN_STYLE_STRENGTH || sent > MAX_STYLE_STRENGTH) {
    throw new InvalidArgumentError('style_strength', describeLimitViolation({ rule: 'range', value: sent, min: MIN_STYLE_STRENGTH, max: MAX_STYLE_STRENGTH, integer: false }));
  }
  return { name, strength: roundStyleStrength(sent) };
}
