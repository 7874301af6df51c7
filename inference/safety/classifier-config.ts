// The classifier's config.json (docs/model-package.md "safety/"): what the ONNX graph takes (input size, layout,
// normalisation), what it gives back (labels, activation) and the operator's thresholds. Validated once, at load,
// naming the file and the field, so a typo is a start-up message and never a silently ignored threshold.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { SafetyError, SafetyErrorCode } from './errors.ts';

export const SAFETY_LAYOUTS = ['NCHW', 'NHWC'] as const;
export const SAFETY_ACTIVATIONS = ['none', 'sigmoid', 'softmax'] as const;

/** The defaults of the optional fields, written once (the schema and the docs table read them). */
export const SAFETY_CONFIG_DEFAULTS = {
  layout: 'NCHW',
  mean: [0, 0, 0],
  std: [1, 1, 1],
  activation: 'none',
  frames_sampled: 4,
} as const satisfies { layout: (typeof SAFETY_LAYOUTS)[number]; mean: readonly number[]; std: readonly number[]; activation: (typeof SAFETY_ACTIVATIONS)[number]; frames_sampled: number };

/** Largest side the classifier may ask for: real ones take 224–512; past this it is a mistake, not a model. */
export const MAX_SAFETY_INPUT_SIDE = 1024;
export const MAX_FRAMES_SAMPLED = 64;

const side = z.number({ error: 'a side is a whole number of pixels' }).int({ error: 'a side is a whole number of pixels' }).min(1, { error: 'a side must be at least 1 pixel' }).max(MAX_SAFETY_INPUT_SIDE, { error: `must be at most ${MAX_SAFETY_INPUT_SIDE}` });
const rgbTriple = (what: string, positive: boolean) =>
  z.array(positive ? z.number().positive({ error: `${what} values must be above 0` }) : z.number()).length(3, { error: `${what} needs 3 numbers (R, G, B)` });

const schema = z
  .object({
    input_size: z.tuple([side, side], { error: 'expected [height, width], two whole numbers' }),
    labels: z.array(z.string().min(1, { error: 'a label cannot be empty' })).min(1, { error: 'needs at least one label' })
      .refine((l) => new Set(l).size === l.length, { error: 'labels must be unique' }),
    thresholds: z.record(z.string(), z.number().min(0, { error: 'a threshold is a score from 0 to 1' }).max(1, { error: 'a threshold is a score from 0 to 1' })),
    layout: z.enum(SAFETY_LAYOUTS, { error: `must be one of ${SAFETY_LAYOUTS.join(', ')}` }).default(SAFETY_CONFIG_DEFAULTS.layout),
    mean: rgbTriple('mean', false).default([...SAFETY_CONFIG_DEFAULTS.mean]),
    std: rgbTriple('std', true).default([...SAFETY_CONFIG_DEFAULTS.std]),
    activation: z.enum(SAFETY_ACTIVATIONS, { error: `must be one of ${SAFETY_ACTIVATIONS.join(', ')}` }).default(SAFETY_CONFIG_DEFAULTS.activation),
    frames_sampled: z.number({ error: `must be a whole number from 1 to ${MAX_FRAMES_SAMPLED}` }).int({ error: `must be a whole number from 1 to ${MAX_FRAMES_SAMPLED}` }).min(1, { error: `must be a whole number from 1 to ${MAX_FRAMES_SAMPLED}` }).max(MAX_FRAMES_SAMPLED, { error: `must be a whole number from 1 to ${MAX_FRAMES_SAMPLED}` }).default(SAFETY_CONFIG_DEFAULTS.frames_sampled),
    input_name: z.string().min(1).optional(),
    output_name: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const labels = new Set(c.labels);
    const keys = Object.keys(c.thresholds);
    if (keys.length === 0) ctx.addIssue({ code: 'custom', path: ['thresholds'], message: `needs at least one label's threshold (labels: ${c.labels.join(', ')})` });
    for (const key of keys) {
      if (!labels.has(key)) ctx.addIssue({ code: 'custom', path: ['thresholds', key], message: `"${key}" is not one of labels (${c.labels.join(', ')})` });
    }
  });

export type SafetyConfig = z.output<typeof schema>;

/** The first problem of a parse, as "field: what is wrong"; unknown keys are named with what is allowed. */
function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')} (allowed: ${Object.keys(schema.shape).join(', ')})`;
  }
  const field = issue.path.join('.') || '(root)';
  return `${field}: ${issue.message}`;
}

/** Parses an already-read config object; `shownAs` names the file in messages ("safety/config.json"). */
export function parseSafetyConfig(value: unknown, shownAs: string): SafetyConfig {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SafetyError(SafetyErrorCode.ConfigInvalid, shownAs, describe(parsed.error));
  return parsed.data;
}

/** Reads and validates `file`; `shownAs` names it in messages (never the server's absolute path). */
export async function readSafetyConfig(file: string, shownAs: string): Promise<SafetyConfig> {
  if (!existsSync(file)) throw new SafetyError(SafetyErrorCode.ConfigInvalid, shownAs, 'is missing (the classifier needs its input size, labels and thresholds)');
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SafetyError(SafetyErrorCode.ConfigInvalid, shownAs, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parseSafetyConfig(value, shownAs);
}
