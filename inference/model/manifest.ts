// The `animate` section of model_index.json: what the daemon needs to know about a package beyond its ONNX files.
import { z } from 'zod';

const defaultsSchema = z.object({
  steps: z.number().int().min(1).default(20),
  guidance_scale: z.number().min(0).default(4),
  frames: z.number().int().min(1).default(17),
  width: z.number().int().min(8).default(128),
  height: z.number().int().min(8).default(128),
  fps: z.number().int().min(1).default(8),
  preview_every_n_steps: z.number().int().min(1).default(2),
});

const limitsSchema = z.object({
  min_steps: z.number().int().min(1).default(1),
  max_steps: z.number().int().min(1).default(100),
  min_guidance: z.number().min(0).default(1),
  max_guidance: z.number().min(0).default(20),
  min_frames: z.number().int().min(1).default(1),
  max_frames: z.number().int().min(1).default(65),
  size_multiple: z.number().int().min(1).default(16),
  min_side: z.number().int().min(8).default(64),
  max_side: z.number().int().min(8).default(512),
  min_fps: z.number().int().min(1).default(1),
  max_fps: z.number().int().min(1).default(30),
  max_prompt_chars: z.number().int().min(1).default(500),
  aspects: z.array(z.string().regex(/^\d+:\d+$/)).default(['1:1', '16:9', '9:16', '4:3', '3:4']),
});

export const animateSectionSchema = z.object({
  description: z.string().default(''),
  latent_channels: z.number().int().min(1),
  vae_scale_factor_spatial: z.number().int().min(1),
  vae_scale_factor_temporal: z.number().int().min(1).default(1),
  latents_mean: z.array(z.number()).optional(),
  latents_std: z.array(z.number()).optional(),
  max_text_length: z.number().int().min(1),
  pad_token_id: z.number().int().min(0).default(0),
  defaults: defaultsSchema.default(defaultsSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
  example_prompts: z.array(z.string()).default([]),
  // Wan2.x-class settings (docs/model-package.md "Wan2.x settings"); the defaults are what packages before them meant.
  /** The transformer's patch [t, h, w] (diffusers' transformer config `patch_size`); only 1×h×w patches. */
  patch_size: z.tuple([z.literal(1, { error: 'the temporal patch must be 1 (only 1×h×w patches are supported)' }), z.number().int().min(1), z.number().int().min(1)]).default([1, 1, 1]),
  /** "batch": timestep [B]; "tokens": timestep [B, T], one per patch token (diffusers' `expand_timesteps`). */
  timestep_shape: z.enum(['batch', 'tokens']).default('batch'),
  /** Zero the text encoder's output past each prompt's real length (its attention mask), as Wan's UMT5 path does. */
  zero_text_padding: z.boolean().default(false),
  /** 1: cond and uncond in one batch of 2; 2: two passes of batch 1 (cards where a batch of 2 does not fit). */
  guidance_passes: z.union([z.literal(1), z.literal(2)], { error: 'expected 1 (one batch of cond and uncond) or 2 (two passes)' }).default(1),
  /** With transformer_2/: below boundary_ratio × num_train_timesteps the second transformer denoises (Wan2.2 A14B). */
  boundary_ratio: z.number().gt(0).lt(1).optional(),
  /** Guidance of transformer_2's steps; absent: the request's guidance. */
  guidance_scale_2: z.number().min(0).optional(),
  /** Decode in spatial tiles of `tile` latent cells a side sharing `overlap` (inference/pipeline/tiled-decode.ts). */
  decoder_tiling: z
    .object({ tile: z.number().int().min(1), overlap: z.number().int().min(0) }, { error: 'expected { "tile": latent cells a side, "overlap": latent cells shared }' })
    .refine((t) => t.overlap < t.tile, { error: 'overlap must be below tile (each tile must add new cells)' })
    .optional(),
});

export const modelIndexSchema = z.object({
  name: z.string().optional(),
  animate: animateSectionSchema,
});

export type AnimateSection = z.infer<typeof animateSectionSchema>;
export type ModelDefaultsConfig = AnimateSection['defaults'];
export type ModelLimitsConfig = AnimateSection['limits'];

export const previewFactorsSchema = z.object({
  factors: z.array(z.tuple([z.number(), z.number(), z.number()])),
  bias: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
});
export type PreviewFactors = z.infer<typeof previewFactorsSchema>;

/** Readable list of zod issues: "animate.defaults.steps: expected number". */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
