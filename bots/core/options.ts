// /animate options: one zod schema, two front doors.
//   parseStructuredOptions(record)  Discord slash options, Slack modal values (strings or numbers)
//   parseTextCommand(text)          the text syntax: `a red ball bounces --seed 42 --aspect W:H --negative "blurry"`
// Shape errors are caught here; model ranges are checked against ListModels' limits when the caller has them
// (checkAgainstModel), by the same rules the daemon validates with (shared/wire/model-limits.ts), worded with the
// option names people type. The daemon stays authoritative: its INVALID_ARGUMENT messages reach the person unchanged.
import { z } from 'zod';
import { InvalidOptionsError } from './errors.ts';
import type { ImageAttachment } from './image-download.ts';
import type { ModelInfo__Output } from '../../shared/rpc/types.ts';
import { findLimitViolation, temporalFactorOf, type LimitField, type LimitViolation } from '../../shared/wire/model-limits.ts';
import { DEFAULT_STYLE_STRENGTH, MAX_STYLE_STRENGTH, MIN_STYLE_STRENGTH } from '../../shared/wire/styles.ts';
import { nearestName } from '../../shared/did-you-mean.ts';

export { framesForDuration } from '../../shared/wire/model-limits.ts';

/**
 * An aspect ratio as people type it ("W:H", also "WxH" or "W/H"). Which ones a model takes is its own list
 * (ListModels' limits.aspects, checked by checkAgainstModel): the bot hard-codes none, since a model's list may grow.
 */
export type Aspect = string;
/** Two whole numbers 1–99, "W:H" once normalised. */
const ASPECT_SHAPE = /^([1-9]\d?):([1-9]\d?)$/;

/**
 * The widest ranges the bots accept before the model is known: sanity bounds for what people type, and what Discord
 * registers as its options' min/max (its autocomplete then suggests the model's own values). Each model's limits
 * (ListModels) are narrower and are checked by checkAgainstModel, as the daemon checks them. Written once here.
 */
export const OPTION_BOUNDS = {
  steps: { min: 1, max: 1000 },
  guidance: { min: 0, max: 50 },
  duration: { min: 0.05, max: 120 },
  frames: { min: 1, max: 1025 },
  fps: { min: 1, max: 120 },
} as const satisfies Record<'steps' | 'guidance' | 'duration' | 'frames' | 'fps', { min: number; max: number }>;

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
  /** One of the model's styles (ListModels' ModelInfo.styles: a LoRA adapter); absent: none. */
  style?: string;
  /** How strongly the style applies, MIN_STYLE_STRENGTH..MAX_STYLE_STRENGTH; absent: DEFAULT_STYLE_STRENGTH. Only with a style. */
  styleStrength?: number;
  /**
   * An image to animate from (image-to-video; Extend sets the previous clip's last frame). Never typed as text: the
   * adapter adds it from an attachment after parsing. Kept with the options so reroll, variations, refine and
   * follow-ups start from the same image.
   */
  image?: ImageAttachment;
}

/** Option names as people type them, with their meaning (help text and error messages use this). */
export const OPTION_HELP: ReadonlyArray<{ name: keyof AnimateOptions; accepts: string; meaning: string; /** The text flag when it is not the name (--style-strength). */ flag?: string }> = [
  { name: 'prompt', accepts: 'text', meaning: 'what to animate (required)' },
  { name: 'negative', accepts: 'text', meaning: 'what to avoid, e.g. "blurry"' },
  { name: 'seed', accepts: `a whole number 0–${MAX_SEED}`, meaning: 'same seed + same settings = same clip' },
  { name: 'steps', accepts: 'a whole number (model limits)', meaning: 'denoising steps: more is slower and finer' },
  { name: 'guidance', accepts: 'a number (model limits)', meaning: 'how strictly to follow the prompt; 1 disables guidance' },
  { name: 'duration', accepts: 'seconds, e.g. 2 or 1.5', meaning: 'clip length (instead of frames)' },
  { name: 'frames', accepts: 'a whole number (model limits)', meaning: 'clip length in frames (instead of duration)' },
  { name: 'aspect', accepts: 'W:H, one the model lists', meaning: 'frame shape' },
  { name: 'fps', accepts: 'a whole number (model limits)', meaning: 'frames per second' },
  { name: 'variants', accepts: `1–${MAX_VARIANTS}`, meaning: 'several clips with neighbouring seeds' },
  { name: 'model', accepts: 'a model name', meaning: "model package (default: the daemon's default)" },
  { name: 'style', accepts: 'a style the model lists', meaning: 'a look the model learned (a LoRA adapter), e.g. pixel art' },
  { name: 'styleStrength', flag: 'style-strength', accepts: `${MIN_STYLE_STRENGTH}–${MAX_STYLE_STRENGTH}, default ${DEFAULT_STYLE_STRENGTH}`, meaning: 'how strongly the style applies (0: not at all)' },
];

/** The text flag of an option, without its dashes ("style-strength" for styleStrength). */
export const flagOf = (name: keyof AnimateOptions): string => OPTION_HELP.find((o) => o.name === name)?.flag ?? name;

/**
 * Keys the structured front doors use for an option whose schema name differs: Discord's option names are
 * snake_case (style_strength), the schema's the AnimateOptions field (styleStrength).
 */
const STRUCTURED_KEYS: Readonly<Record<string, keyof AnimateOptions>> = { style_strength: 'styleStrength', 'style-strength': 'styleStrength' };

const ASPECT_MESSAGE = 'aspect must be a ratio of two whole numbers as W:H (the ones the model takes are listed by /animate help)';

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
    steps: wholeNumber('steps', OPTION_BOUNDS.steps.min, OPTION_BOUNDS.steps.max),
    guidance: decimal('guidance', OPTION_BOUNDS.guidance.min, OPTION_BOUNDS.guidance.max, 'a number'),
    duration: decimal('duration', OPTION_BOUNDS.duration.min, OPTION_BOUNDS.duration.max, 'a number of seconds'),
    frames: wholeNumber('frames', OPTION_BOUNDS.frames.min, OPTION_BOUNDS.frames.max),
    aspect: z.preprocess(
      (v) => (typeof blankToUndefined(v) === 'string' ? String(v).trim().replace(/\s*[x/:]\s*/i, ':') : blankToUndefined(v)),
      z
        .string({ error: ASPECT_MESSAGE })
        .regex(ASPECT_SHAPE, { error: ASPECT_MESSAGE })
        .optional(),
    ),
    fps: wholeNumber('fps', OPTION_BOUNDS.fps.min, OPTION_BOUNDS.fps.max),
    variants: z.preprocess((v) => blankToUndefined(v) ?? 1, z.coerce
      .number({ error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })
      .int({ error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })
      .min(1, { error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })
      .max(MAX_VARIANTS, { error: `variants must be a whole number from 1 to ${MAX_VARIANTS}` })),
    model: z.preprocess(blankToUndefined, text('model', 128).optional()),
    style: z.preprocess(blankToUndefined, text('style', 128).optional()),
    styleStrength: decimal('style strength', MIN_STYLE_STRENGTH, MAX_STYLE_STRENGTH, 'a number'),
  })
  .strict()
  .refine((o) => o.duration === undefined || o.frames === undefined, {
    error: 'give either duration or frames, not both',
    path: ['duration'],
  })
  // As the daemon: a strength alone would change nothing, so it is a mistake worth naming.
  .refine((o) => o.styleStrength === undefined || o.style !== undefined, {
    error: 'style strength is set but no style is given: name one of the model\'s styles (listed by /animate help), or leave the strength out',
    path: ['styleStrength'],
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
  if (parsed.style !== undefined && parsed.style !== '') out.style = parsed.style;
  if (parsed.styleStrength !== undefined) out.styleStrength = parsed.styleStrength;
  return out;
}

export interface ParseContext {
  /** The model the request will run on (from ListModels); when given, ranges are checked against its limits. */
  model?: ModelInfo__Output | undefined;
}

/** Discord slash options / Slack modal values. Throws InvalidOptionsError naming the option and what it allows. */
export function parseStructuredOptions(record: Readonly<Record<string, unknown>>, context: ParseContext = {}): AnimateOptions {
  const renamed = Object.fromEntries(Object.entries(record).map(([k, v]) => [STRUCTURED_KEYS[k] ?? k, v]));
  const result = animateOptionsSchema.safeParse(renamed);
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
  style: 'style', lora: 'style',
  'style-strength': 'styleStrength', strength: 'styleStrength',
};

/** `help` may name a model (`help --model wide`): its ranges and styles are listed instead of the default's. */
export type TextCommand = { kind: 'help'; model?: string } | { kind: 'animate'; options: AnimateOptions };

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
  const helpFor = /^(?:help|--help|-h|\?)\s+--?(?:model)(?:=|\s+)(\S+)$/i.exec(trimmed);
  if (helpFor) return { kind: 'help', model: helpFor[1]! };
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
    if (!name) throw new InvalidOptionsError(`Unknown option "--${rawName}". Options: ${OPTION_HELP.filter((o) => o.name !== 'prompt').map((o) => `--${flagOf(o.name)}`).join(', ')}. Try "/animate help".`, rawName);
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
  if (options.style !== undefined) checkStyle(options.style, model);
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

/** The styles a model lists (ListModels), [] for a model (or an older daemon) without any. */
export const stylesOf = (model: ModelInfo__Output | undefined): ModelInfo__Output['styles'] => model?.styles ?? [];

/**
 * A style the model does not have, refused before the job is queued with the names it has (and the nearest one to a
 * typo), as the daemon would refuse it (INVALID_ARGUMENT naming the styles), so the person hears it privately, at once.
 */
function checkStyle(style: string, model: ModelInfo__Output): void {
  const names = stylesOf(model).map((s) => s.name);
  if (names.includes(style)) return;
  if (names.length === 0) throw new InvalidOptionsError(`style "${style}" cannot be used: model ${model.name} has no styles. Leave style out.`, 'style');
  const near = nearestName(style.toLowerCase(), names);
  throw new InvalidOptionsError(`style "${style}" is not a style of model ${model.name}${near ? ` (did you mean ${near}?)` : ''}. Its styles: ${names.join(', ')}.`, 'style');
}

/**
 * The example command of the help text, from the model: its first example prompt, its default steps, and a shape it
 * lists other than its first (so the example never names an aspect the model refuses). Without a model, no ranges.
 */
export function exampleCommand(model: ModelInfo__Output | undefined, commandName = '/animate'): string {
  const prompt = model?.examplePrompts[0] ?? 'a red ball bounces';
  const parts = [commandName, prompt, '--seed 42'];
  if (model?.defaults?.steps) parts.push(`--steps ${model.defaults.steps}`);
  const otherAspect = model?.limits?.aspects.slice(1)[0];
  if (otherAspect) parts.push(`--aspect ${otherAspect}`);
  parts.push('--variants 2', '--negative "blurry"');
  return parts.join(' ');
}

/** What `accepts` says for an option once the model's limits are known (undefined: the generic wording). */
function modelAccepts(name: keyof AnimateOptions, limits: NonNullable<ModelInfo__Output['limits']>, fps: number): string | undefined {
  switch (name) {
    case 'steps':
      return limits.maxSteps > 0 ? `${limits.minSteps}–${limits.maxSteps}` : undefined;
    case 'guidance':
      return limits.maxGuidance > 0 ? `${limits.minGuidance}–${limits.maxGuidance}` : undefined;
    case 'frames':
      if (limits.maxFrames === 0) return undefined;
      return temporalFactorOf(limits) > 1 ? `${limits.minFrames}–${limits.maxFrames}, 1 + a multiple of ${temporalFactorOf(limits)}` : `${limits.minFrames}–${limits.maxFrames}`;
    case 'duration':
      return limits.maxFrames > 0 ? `${round2(limits.minFrames / fps)}–${round2(limits.maxFrames / fps)} s at ${fps} fps` : undefined;
    case 'fps':
      return limits.maxFps > 0 ? `${limits.minFps}–${limits.maxFps}` : undefined;
    case 'aspect':
      return limits.aspects.length > 0 ? limits.aspects.join(', ') : undefined;
    default:
      return undefined;
  }
}

/** What --style accepts on this model: its style names, or that it has none. */
function styleAccepts(model: ModelInfo__Output): string {
  const names = stylesOf(model).map((s) => s.name);
  return names.length > 0 ? names.join(', ') : `none (model ${model.name} has no styles)`;
}

/**
 * The model's styles for the help text: each with its description and example prompt as a command to copy. A model
 * without styles adds nothing here: its `--style` line already says it has none.
 */
export function styleLines(model: ModelInfo__Output, commandName = '/animate'): string[] {
  const styles = stylesOf(model);
  if (styles.length === 0) return [];
  const lines = ['', `Styles of model ${model.name} (--style NAME, --style-strength ${MIN_STYLE_STRENGTH}–${MAX_STYLE_STRENGTH}):`];
  for (const s of styles) {
    lines.push(`  ${s.name}${s.description ? `: ${s.description}` : ''}`);
    if (s.examplePrompt) lines.push(`    e.g. ${commandName} ${s.examplePrompt} --style ${s.name}`);
  }
  return lines;
}

/** Plain-text help for `/animate help`; adapters may reformat it. Lists the model's aspects and ranges when known. */
export function helpText(model?: ModelInfo__Output, commandName = '/animate'): string {
  const limits = model?.limits;
  const fps = model?.defaults?.fps || DEFAULT_FPS;
  const lines = [`${commandName} <prompt> [--option value …]   e.g. ${exampleCommand(model, commandName)}`, '', model ? `Options (model ${model.name}):` : 'Options:'];
  for (const o of OPTION_HELP) {
    if (o.name === 'prompt') continue;
    const accepts = (o.name === 'style' && model ? styleAccepts(model) : undefined) ?? (limits && modelAccepts(o.name, limits, fps)) ?? o.accepts;
    lines.push(`  --${flagOf(o.name).padEnd(9)} ${accepts}: ${o.meaning}`);
  }
  if (model) {
    const d = model.defaults;
    if (d) lines.push('', `Model ${model.name} defaults: ${d.steps} steps, guidance ${round2(d.guidanceScale)}, ${d.frames} frames at ${d.fps} fps, ${d.width}×${d.height}.`);
    if (model.examplePrompts.length > 0) lines.push(`Try: ${model.examplePrompts.slice(0, 3).map((p) => `"${p}"`).join(', ')}`);
    lines.push(...styleLines(model, commandName));
  }
  lines.push('', 'Reply in the thread ("slower", "now at night", "make it blue") to refine the last clip.');
  return lines.join('\n');
}
