// /animate options: one zod schema, two front doors.
//   parseStructuredOptions(record)  Discord slash options, Slack modal values (strings or numbers)
//   parseTextCommand(text)          the text syntax: `a red ball bounces --seed 42 --aspect 16:9 --negative "blurry"`
// Shape errors are caught here; model ranges are checked against ListModels' limits when the caller has them
// (checkAgainstModel), by the same rules the daemon validates with (shared/wire/model-limits.ts), worded with the
// option names people type. The daemon stays authoritative: its INVALID_ARGUMENT messages reach the person unchanged.
import { z } from 'zod';
import { InvalidOptionsError } from './errors.ts';
import type { ImageAttachment } from './image-download.ts';
import type { ModelInfo__Output } from '../../shared/rpc/types.ts';
import { findLimitViolation, temporalFactorOf, type LimitField, type LimitViolation } from '../../shared/wire/model-limits.ts';

export { framesForDuration } from '../../shared/wire/model-limits.ts';

export const ASPECTS = ['1:1', '16:9', '9:16', '4:3', '3:4'] as const;
export type Aspect = (typeof ASPECTS)[number];

export const MAX_VARIANTS = 4;
export const MAX_SEED = 4_294_967_295;
/** Used to turn a duration into frames when the model's temporal factor is unknown (docs/model-package.md). */
export const DEFAULT_TEMPORAL_FACTOR = 4;
/** Used to turn a duration into frames when neither the options nor the model give an fps. */
export const DEFAULT_FPS = 8;

/** Validated /animate options. Absent fields fall back to the model's defaults (daemon side). */
export interface AnimateOptions {
  prompt: string;
  /** What to steer away from. */
  negative?: string;
  /** 0..4294967295; absent: a random seed (reported with the clip). */
  seed?: number;
  steps?: number;
  guidance?: number;
  /** Clip length in seconds (converted to frames); mutually exclusive with `frames`. */
  duration?: number;
  frames?: number;
  aspect?: Aspect;
  fps?: number;
  /** How many clips with neighbouring seeds; 1..4, default 1. */
  variants: number;
  /** Model package name; absent: the daemon's default. */
  model?: string;
  /**
   * An image to animate from (image-to-video; Extend sets the previous clip's last frame). Never typed as text: the
   * adapter adds it from an attachment after parsing. Kept with the options so reroll, variations, refine and
   * follow-ups start from the same image.
   */
  image?: ImageAttachment;
}

/** Option names as people type them, with their meaning (help text and error messages use this). */
export const OPTION_HELP: ReadonlyArray<{ name: keyof AnimateOptions; accepts: string; meaning: string }> = [
  { name: 'prompt', accepts: 'text', meaning: 'what to animate (required)' },
  { name: 'negative', accepts: 'text', meaning: 'what to avoid, e.g. "blurry"' },
  { name: 'seed', accepts: `a whole number 0–${MAX_SEED}`, meaning: 'same seed + same settings = same clip' },
  { name: 'steps', accepts: 'a whole number (model limits)', meaning: 'denoising steps: more is slower and finer' },
  { name: 'guidance', accepts: 'a number (model limits)', meaning: 'how strictly to follow the prompt; 1 disables guidance' },
  { name: 'duration', accepts: 'seconds, e.g. 2 or 1.5', meaning: 'clip length (instead of frames)' },
  { name: 'frames', accepts: 'a whole number (model limits)', meaning: 'clip length in frames (instead of duration)' },
  { name: 'aspect', accepts: ASPECTS.join(', '), meaning: 'frame shape' },
  { name: 'fps', accepts: 'a whole number (model limits)', meaning: 'frames per second' },
  { name: 'variants', accepts: `1–${MAX_VARIANTS}`, meaning: 'several clips with neighbouring seeds' },
  { name: 'model', accepts: 'a model name', meaning: "model package (default: the daemon's default)" },
];

const blankToUndefined = (value: unknown): unknown =>
  value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;

const text = (name: string, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.trim() : v),
    z.string({ error: `${name} must be text` }).max(max, { error: `${name} is too long (at most ${max} characters)` }),
  );

const wholeNumber = (name: string, min: number, max: number) => {
  const message = `${name} must be a whole number from ${min} to ${max}`;
  return z.preprocess(blankToUndefined, z.coerce.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message }).optional());
};

const decimal = (name: string, min: number, max: number, what: string) => {
  const message = `${name} must be ${what} from ${min} to ${max}`;
  return z.preprocess(blankToUndefined, z.coerce.number({ error: message }).refine(Number.isFinite, { error: message }).min(min, { error: message }).max(max, { error: message }).optional());
};

/** The one schema. Ranges here are sanity bounds; the model's own limits are checked by checkAgainstModel. */
export const animateOptionsSchema = z
  .object({
    prompt: text('prompt', 2000).refine((p) => p.length > 0, { error: 'prompt is required: describe what to animate, e.g. "a red ball bounces"' }),
    negative: z.preprocess(blankToUndefined, text('negative', 2000).optional()),
    seed: wholeNumber('seed', 0, MAX_SEED),
    steps: wholeNumber('steps', 1, 1000),
    guidance: decimal('guidance', 0, 100, 'a number'),
    duration: decimal('duration', 0.05, 120, 'a number of seconds'),
    frames: wholeNumber('frames', 1, 10_000),
    aspect: z.preprocess(
      (v) => (typeof blankToUndefined(v) === 'string' ? String(v).trim().replace(/[x/]/i, ':') : blankToUndefined(v)),
      z.enum(ASPECTS, { error: `aspect must be one of ${ASPECTS.join(', ')}` }).optional(),
    ),
    fps: wholeNumber('fps', 1, 240),
    variants: z.preprocess((v) => blankToUndefined(v) ?? 1, z.coerce
      .number({ error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })
      .int({ error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })
      .min(1, { error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })
      .max(MAX_VARIANTS, { error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })),
    model: z.preprocess(blankToUndefined, text('model', 128).optional()),
  })
  .strict()
  .refine((o) => o.duration === undefined || o.frames === undefined, {
    error: 'give either duration or frames, not both',
    path: ['duration'],
  });

const KNOWN_OPTIONS = OPTION_HELP.map((o) => o.name).join(', ');

function zodToInvalidOptions(error: z.ZodError): InvalidOptionsError {
  const issue = error.issues[0];
  if (!issue) return new InvalidOptionsError('The options are invalid.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    return new InvalidOptionsError(`Unknown option "${key}". Options: ${KNOWN_OPTIONS}.`, key);
  }
  const option = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
  return new InvalidOptionsError(issue.message, option);
}

/** Drops undefined fields so the result satisfies exactOptionalPropertyTypes. */
function compact(parsed: z.output<typeof animateOptionsSchema>): AnimateOptions {
  const out: AnimateOptions = { prompt: parsed.prompt, variants: parsed.variants };
  if (parsed.negative !== undefined && parsed.negative !== '') out.negative = parsed.negative;
  if (parsed.seed !== undefined) out.seed = parsed.seed;
  if (parsed.steps !== undefined) out.steps = parsed.steps;
  if (parsed.guidance !== undefined) out.guidance = parsed.guidance;
  if (parsed.duration !== undefined) out.duration = parsed.duration;
  if (parsed.frames !== undefined) out.frames = parsed.frames;
  if (parsed.aspect !== undefined) out.aspect = parsed.aspect;
  if (parsed.fps !== undefined) out.fps = parsed.fps;
  if (parsed.model !== undefined && parsed.model !== '') out.model = parsed.model;
  return out;
}

export interface ParseContext {
  /** The model the request will run on (from ListModels); when given, ranges are checked against its limits. */
  model?: ModelInfo__Output | undefined;
}

/** Discord slash options / Slack modal values. Throws InvalidOptionsError naming the option and what it allows. */
export function parseStructuredOptions(record: Readonly<Record<string, unknown>>, context: ParseContext = {}): AnimateOptions {
  const result = animateOptionsSchema.safeParse(record);
  if (!result.success) throw zodToInvalidOptions(result.error);
  const options = compact(result.data);
  if (context.model) checkAgainstModel(options, context.model);
  return options;
}

/** Alternative spellings people type, mapped to the schema's names. */
const ALIASES: Readonly<Record<string, keyof AnimateOptions>> = {
  negative: 'negative', neg: 'negative', no: 'negative', 'negative-prompt': 'negative',
  seed: 'seed',
  steps: 'steps',
  guidance: 'guidance', cfg: 'guidance', 'guidance-scale': 'guidance',
  duration: 'duration', seconds: 'duration', secs: 'duration', length: 'duration',
  frames: 'frames',
  aspect: 'aspect', ar: 'aspect', 'aspect-ratio': 'aspect',
  fps: 'fps',
  variants: 'variants', variations: 'variants', n: 'variants',
  model: 'model',
};

export type TextCommand = { kind: 'help' } | { kind: 'animate'; options: AnimateOptions };

/** Splits on whitespace, keeping "double" or 'single' or “curly” quoted runs together. */
export function tokenize(input: string): string[] {
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|“([^”]*)”|(\S+)/g;
  for (const match of input.matchAll(pattern)) tokens.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
  return tokens;
}

/**
 * The text syntax: prompt words, then `--name value` or `--name=value` options (anywhere, in any order).
 * `help` (or `--help`, or nothing at all) asks for help. Throws InvalidOptionsError.
 */
export function parseTextCommand(input: string, context: ParseContext = {}): TextCommand {
  const trimmed = input.trim();
  if (trimmed === '' || /^(help|--help|-h|\?)$/i.test(trimmed)) return { kind: 'help' };
  const tokens = tokenize(trimmed.replace(/[\u2013\u2014]/g, '--'));
  const promptWords: string[] = [];
  const record: Record<string, unknown> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (!/^--?[a-z]/i.test(token) || /^-\d/.test(token)) {
      promptWords.push(token);
      continue;
    }
    const body = token.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const rawName = (eq >= 0 ? body.slice(0, eq) : body).toLowerCase();
    if (rawName === 'help') return { kind: 'help' };
    const name = ALIASES[rawName];
    if (!name) throw new InvalidOptionsError(`Unknown option "--${rawName}". Options: ${Object.keys(ALIASES).filter((k) => ALIASES[k] === k).map((k) => `--${k}`).join(', ')}. Try "/animate help".`, rawName);
    let value: string | undefined;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      const next = tokens[i + 1];
      if (next === undefined || (/^--[a-z]/i.test(next))) {
        const accepts = OPTION_HELP.find((o) => o.name === name)?.accepts ?? 'a value';
        throw new InvalidOptionsError(`--${rawName} needs a value (${accepts}).`, name);
      }
      value = next;
      i++;
    }
    if (name in record) throw new InvalidOptionsError(`--${rawName} is given twice; give it once.`, name);
    record[name] = value;
  }
  record.prompt = promptWords.join(' ');
  return { kind: 'animate', options: parseStructuredOptions(record, context) };
}

/** The wire's field names as people type them in options (the limit rules speak the wire's). */
export const OPTION_FOR_FIELD: Readonly<Record<LimitField, string>> = {
  prompt: 'prompt', negative_prompt: 'negative', steps: 'steps', guidance_scale: 'guidance', frames: 'frames', fps: 'fps', width: 'width', height: 'height', aspect: 'aspect',
};

/** A model-limit violation in a person's words, naming the option and the model. */
export function describeForPerson(v: LimitViolation, modelName: string): string {
  const name = OPTION_FOR_FIELD[v.field];
  switch (v.rule) {
    case 'empty':
      return `${name} is required: describe what to animate, e.g. "a red ball bounces"`;
    case 'too_long':
      return `${name} is too long for model ${modelName}: at most ${v.max} characters (got ${v.length}).`;
    case 'range':
      return `${name} must be ${v.integer ? 'a whole number' : 'a number'} from ${v.min} to ${v.max} for model ${modelName} (got ${v.value}).`;
    case 'frames_grid':
      return `${name} must be 1 + a multiple of ${v.temporalFactor} for model ${modelName} (e.g. ${v.below} or ${v.above}); got ${v.value}.`;
    case 'size_grid':
      return `${name} must be a multiple of ${v.multiple} from ${v.min} to ${v.max} for model ${modelName} (got ${v.value}).`;
    case 'not_listed':
      return `${name} must be one of ${v.allowed.join(', ')} for model ${modelName} (got ${v.value}).`;
  }
}

/** Checks options against the model's ListModels limits; throws InvalidOptionsError naming the option and range. */
export function checkAgainstModel(options: AnimateOptions, model: ModelInfo__Output): void {
  const limits = model.limits;
  if (!limits) return;
  const violation = findLimitViolation(
    { prompt: options.prompt, negativePrompt: options.negative, steps: options.steps, guidanceScale: options.guidance, frames: options.frames, fps: options.fps, aspect: options.aspect },
    limits,
  );
  if (violation) throw new InvalidOptionsError(describeForPerson(violation, model.name), OPTION_FOR_FIELD[violation.field]);
  // Duration is the bot's own option: the frames it stands for must fit the model's frame range.
  if (options.duration !== undefined && limits.maxFrames > 0) {
    const fps = options.fps ?? (model.defaults?.fps || DEFAULT_FPS);
    const longest = limits.maxFrames / fps;
    const shortest = limits.minFrames / fps;
    if (options.duration > longest + 1e-9 || options.duration < shortest - 1e-9)
      throw new InvalidOptionsError(`duration must be from ${round2(shortest)} to ${round2(longest)} seconds at ${fps} fps for model ${model.name} (got ${options.duration}).`, 'duration');
  }
  if (options.aspect !== undefined && limits.aspects.length > 0 && !limits.aspects.includes(options.aspect))
    throw new InvalidOptionsError(`aspect must be one of ${limits.aspects.join(', ')} for model ${model.name} (got ${options.aspect}).`, 'aspect');
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Plain-text help for `/animate help`; adapters may reformat it. Lists the model's ranges when known. */
export function helpText(model?: ModelInfo__Output, commandName = '/animate'): string {
  const limits = model?.limits;
  const lines = [
    `${commandName} <prompt> [--option value …]   e.g. ${commandName} a red ball bounces --seed 42 --steps 20 --aspect 16:9 --variants 2 --negative "blurry"`,
    '',
    'Options:',
  ];
  for (const o of OPTION_HELP) {
    if (o.name === 'prompt') continue;
    let accepts = o.accepts;
    if (limits) {
      if (o.name === 'steps') accepts = `${limits.minSteps}–${limits.maxSteps}`;
      if (o.name === 'guidance') accepts = `${limits.minGuidance}–${limits.maxGuidance}`;
      if (o.name === 'frames') accepts = `${limits.minFrames}–${limits.maxFrames}, 1 + a multiple of ${temporalFactorOf(limits)}`;
      if (o.name === 'fps') accepts = `${limits.minFps}–${limits.maxFps}`;
      if (o.name === 'aspect' && limits.aspects.length > 0) accepts = limits.aspects.join(', ');
    }
    lines.push(`  --${o.name.padEnd(9)} ${accepts}: ${o.meaning}`);
  }
  if (model) {
    const d = model.defaults;
    if (d) lines.push('', `Model ${model.name} defaults: ${d.steps} steps, guidance ${round2(d.guidanceScale)}, ${d.frames} frames at ${d.fps} fps, ${d.width}×${d.height}.`);
    if (model.examplePrompts.length > 0) lines.push(`Try: ${model.examplePrompts.slice(0, 3).map((p) => `"${p}"`).join(', ')}`);
  }
  lines.push('', 'Reply in the thread ("slower", "now at night", "make it blue") to refine the last clip.');
  return lines.join('\n');
}
