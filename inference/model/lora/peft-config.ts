// adapter_config.json as PEFT writes it for a LoRA (LoraConfig.save_pretrained), plus animate_style.json, our own
// file beside it for what PEFT's format has no place for: the description and example prompt ListModels shows.
// Only the keys the merge depends on are read; PEFT writes many more (base_model_name_or_path, task_type, ...), which
// are allowed and ignored. What the merge cannot do exactly (DoRA, per-module rank or alpha patterns, trained biases)
// is refused by name rather than merged wrongly.
import { z } from 'zod';
import { describeZodError } from '../manifest.ts';
import { LoraError, LoraErrorCode } from './errors.ts';

export const adapterConfigSchema = z.object({
  peft_type: z.literal('LORA', { error: 'only LORA adapters are supported' }).optional(),
  /** The rank: lora_A is [r, in], lora_B [out, r]. */
  r: z.number().int().min(1),
  lora_alpha: z.number().positive(),
  /** Module names (a module matches when its path is the name or ends with "." + name), or one regular expression (full match). */
  target_modules: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]),
  /** True when the base weight is stored [in, out] (GPT-2's Conv1D); the delta is then (B·A)ᵀ. */
  fan_in_fan_out: z.boolean().default(false),
  /** rsLoRA: scale alpha / √r instead of alpha / r. */
  use_rslora: z.boolean().default(false),
  use_dora: z.literal(false, { error: 'DoRA adapters (use_dora: true) cannot be merged as W + scale·B·A; train a plain LoRA' }).default(false),
  bias: z.literal('none', { error: 'adapters with trained biases (bias other than "none") are not supported' }).default('none'),
  rank_pattern: z.record(z.string(), z.unknown()).refine((v) => Object.keys(v).length === 0, 'per-module ranks are not supported; use one r').default({}),
  alpha_pattern: z.record(z.string(), z.unknown()).refine((v) => Object.keys(v).length === 0, 'per-module alphas are not supported; use one lora_alpha').default({}),
});
export type AdapterConfig = z.infer<typeof adapterConfigSchema>;

export const styleCardSchema = z.object({
  /** One line for people choosing a style ("ink wash: black strokes on rice paper"). */
  description: z.string().max(200).default(''),
  /** A prompt that shows the style well. */
  example_prompt: z.string().max(500).default(''),
});
export type StyleCard = z.infer<typeof styleCardSchema>;

/** The multiplier of B·A at strength 1: alpha / r (rsLoRA: alpha / √r). */
export function loraScale(config: AdapterConfig): number {
  return config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
}

/** Whether `module` (a dotted path) is one of the config's targets, as PEFT decides it. */
export function isTargeted(config: AdapterConfig, module: string): boolean {
  const t = config.target_modules;
  if (typeof t === 'string') return new RegExp(`^(?:${t})$`).test(module);
  return t.some((name) => module === name || module.endsWith(`.${name}`));
}

/** Parses adapter_config.json's content; `label` names the file in errors. */
export function parseAdapterConfig(json: unknown, label: string): AdapterConfig {
  const parsed = adapterConfigSchema.safeParse(json);
  if (!parsed.success) throw new LoraError(LoraErrorCode.ConfigInvalid, label, describeZodError(parsed.error));
  if (typeof parsed.data.target_modules === 'string') {
    try {
      new RegExp(parsed.data.target_modules);
    } catch (err) {
      throw new LoraError(LoraErrorCode.ConfigInvalid, label, `target_modules: ${JSON.stringify(parsed.data.target_modules)} is not a regular expression (${(err as Error).message})`);
    }
  }
  return parsed.data;
}

export function parseStyleCard(json: unknown, label: string): StyleCard {
  const parsed = styleCardSchema.safeParse(json);
  if (!parsed.success) throw new LoraError(LoraErrorCode.ConfigInvalid, label, describeZodError(parsed.error));
  return parsed.data;
}
