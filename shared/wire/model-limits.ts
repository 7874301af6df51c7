// The model-limit rules, written once: what a model's ListModels entry (ModelLimits) allows for each field of a
// GenerateRequest. The daemon checks every request with them (inference/server/validate.ts) and the bot core checks
// a person's options with them before sending (bots/core/options.ts), so the two cannot drift apart. The rules only
// find what is wrong; each side words it for its reader (a field of the wire for the daemon, an option for a person),
// from the same violation.
import type { ModelDefaults__Output } from '../proto/gen/animate/v1/ModelDefaults.ts';
import type { ModelLimits__Output } from '../proto/gen/animate/v1/ModelLimits.ts';

export type ModelLimits = ModelLimits__Output;
export type ModelDefaults = ModelDefaults__Output;

/** Fields the limits govern, by their wire (proto) names; a side with other names maps them (see bots/core/options.ts). */
export type LimitField = 'prompt' | 'negative_prompt' | 'steps' | 'guidance_scale' | 'frames' | 'fps' | 'width' | 'height' | 'aspect';

/** The values to check; an absent one is not checked (the daemon fills defaults in first, the bot sends none). */
export interface LimitedValues {
  prompt?: string | undefined;
  negativePrompt?: string | undefined;
  steps?: number | undefined;
  guidanceScale?: number | undefined;
  frames?: number | undefined;
  fps?: number | undefined;
  width?: number | undefined;
  height?: number | undefined;
  aspect?: string | undefined;
}

/** What is wrong with one field. */
export type LimitViolation =
  | { field: 'prompt'; rule: 'empty' }
  | { field: 'prompt' | 'negative_prompt'; rule: 'too_long'; length: number; max: number }
  | { field: LimitField; rule: 'range'; value: number; min: number; max: number; integer: boolean }
  /** frames must be 1 + k·temporal factor; `below` and `above` are the nearest allowed counts. */
  | { field: 'frames'; rule: 'frames_grid'; value: number; temporalFactor: number; below: number; above: number }
  | { field: 'width' | 'height'; rule: 'size_grid'; value: number; multiple: number; min: number; max: number }
  | { field: 'aspect'; rule: 'not_listed'; value: string; allowed: readonly string[] };

/** A violation without its field: what a message says about the value. */
export type LimitRule = LimitViolation extends infer V ? (V extends unknown ? Omit<V, 'field'> : never) : never;

/**
 * The first violation of `limits` by `values`, or undefined when they are all allowed. Checked in this order: prompt,
 * negative prompt, steps, guidance, frames, fps, width, height, aspect. A limit the wire leaves at 0 (proto3's
 * "unset": an older daemon, or a list left empty) is not declared, so nothing is checked against it.
 */
export function findLimitViolation(values: LimitedValues, limits: ModelLimits): LimitViolation | undefined {
  const range = (field: LimitField, value: number | undefined, min: number, max: number, integer: boolean): LimitViolation | undefined => {
    if (value === undefined || max === 0) return undefined;
    const ok = Number.isFinite(value) && (!integer || Number.isInteger(value)) && value >= min && value <= max;
    return ok ? undefined : { field, rule: 'range', value, min, max, integer };
  };
  const text = (field: 'prompt' | 'negative_prompt', value: string | undefined): LimitViolation | undefined =>
    value !== undefined && limits.maxPromptChars > 0 && value.length > limits.maxPromptChars ? { field, rule: 'too_long', length: value.length, max: limits.maxPromptChars } : undefined;

  if (values.prompt !== undefined && values.prompt.length === 0) return { field: 'prompt', rule: 'empty' };
  const found =
    text('prompt', values.prompt) ??
    text('negative_prompt', values.negativePrompt) ??
    range('steps', values.steps, limits.minSteps, limits.maxSteps, true) ??
    range('guidance_scale', values.guidanceScale, limits.minGuidance, limits.maxGuidance, false) ??
    range('frames', values.frames, limits.minFrames, limits.maxFrames, true) ??
    framesGrid(values.frames, limits) ??
    range('fps', values.fps, limits.minFps, limits.maxFps, true) ??
    side('width', values.width, limits) ??
    side('height', values.height, limits);
  if (found) return found;
  if (values.aspect !== undefined && limits.aspects.length > 0 && !limits.aspects.includes(values.aspect))
    return { field: 'aspect', rule: 'not_listed', value: values.aspect, allowed: limits.aspects };
  return undefined;
}

/** The temporal factor frames are counted in (at least 1: a wire that leaves it 0 means no constraint). */
export function temporalFactorOf(limits: Pick<ModelLimits, 'temporalFactor'>): number {
  return Math.max(1, limits.temporalFactor || 1);
}

function framesGrid(frames: number | undefined, limits: ModelLimits): LimitViolation | undefined {
  if (frames === undefined || limits.maxFrames === 0) return undefined;
  const tf = temporalFactorOf(limits);
  if ((frames - 1) % tf === 0) return undefined;
  const below = 1 + Math.floor((frames - 1) / tf) * tf;
  return { field: 'frames', rule: 'frames_grid', value: frames, temporalFactor: tf, below, above: below + tf };
}

function side(field: 'width' | 'height', value: number | undefined, limits: ModelLimits): LimitViolation | undefined {
  if (value === undefined || limits.maxSide === 0) return undefined;
  const multiple = Math.max(1, limits.sizeMultiple || 1);
  const inRange = Number.isInteger(value) && value >= limits.minSide && value <= limits.maxSide;
  if (!inRange) return { field, rule: 'range', value, min: limits.minSide, max: limits.maxSide, integer: true };
  return value % multiple === 0 ? undefined : { field, rule: 'size_grid', value, multiple, min: limits.minSide, max: limits.maxSide };
}

/** Width and height for an aspect ratio ("16:9"), keeping the default pixel area, snapped to the size grid. */
export function sizeForAspect(aspect: string, limits: ModelLimits, defaults: Pick<ModelDefaults, 'width' | 'height'>): { width: number; height: number } {
  const [a, b] = aspect.split(':').map(Number) as [number, number];
  const area = defaults.width * defaults.height;
  const multiple = Math.max(1, limits.sizeMultiple || 1);
  const snap = (v: number) => Math.min(limits.maxSide, Math.max(limits.minSide, Math.round(v / multiple) * multiple));
  return { width: snap(Math.sqrt((area * a) / b)), height: snap(Math.sqrt((area * b) / a)) };
}

/** Frames the daemon accepts (1 + k·temporal factor) closest to `seconds` at `fps`, within [minFrames, maxFrames]. */
export function framesForDuration(seconds: number, fps: number, temporalFactor: number, minFrames = 1, maxFrames = Number.MAX_SAFE_INTEGER): number {
  const tf = Math.max(1, temporalFactor);
  const wanted = Math.max(1, Math.round(seconds * fps));
  const k = Math.round((wanted - 1) / tf);
  let frames = 1 + k * tf;
  const lowest = 1 + Math.ceil((minFrames - 1) / tf) * tf;
  const highest = 1 + Math.floor((maxFrames - 1) / tf) * tf;
  if (frames < lowest) frames = lowest;
  if (frames > highest) frames = highest;
  return frames;
}
