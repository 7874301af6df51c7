// Checks that each ONNX graph of a package has the inputs and ranks the pipeline feeds it, and the output it reads
// (docs/model-package.md). Float tensors may be float32 or float16 (converted at the onnxruntime boundary,
// backend/onnx.ts); the timestep's rank follows the package's `timestep_shape`.
import path from 'node:path';
import { ModelInvalidError } from '../errors.ts';
import type { SessionInfo } from '../worker/onnx-worker-client.ts';
import type { ComponentName, ModelPackage } from './package.ts';

type ElementKind = 'float' | 'int64';

interface InputRule {
  name: string;
  rank: number;
  type: ElementKind;
  optional?: boolean;
}

/** Element types a 'float' tensor may have at the graph's edge. */
const FLOAT_TYPES = ['float32', 'float16'];

function rules(pkg: ModelPackage): Record<ComponentName, InputRule[]> {
  // expand_timesteps: one timestep per patch token, [B, T].
  const denoiser: InputRule[] = [
    { name: 'hidden_states', rank: 5, type: 'float' },
    { name: 'timestep', rank: pkg.config.timestep_shape === 'tokens' ? 2 : 1, type: 'float' },
    { name: 'encoder_hidden_states', rank: 3, type: 'float' },
  ];
  return {
    text_encoder: [
      { name: 'input_ids', rank: 2, type: 'int64' },
      { name: 'attention_mask', rank: 2, type: 'int64', optional: true },
    ],
    denoiser,
    denoiser_2: denoiser,
    vae_decoder: [{ name: 'latent_sample', rank: 5, type: 'float' }],
    vae_encoder: [{ name: 'sample', rank: 5, type: 'float' }],
    preview_decoder: [{ name: 'latent_sample', rank: 5, type: 'float' }],
  };
}

function typeMatches(actual: string, kind: ElementKind): boolean {
  return kind === 'float' ? FLOAT_TYPES.includes(actual) : actual === kind;
}

function describeKind(kind: ElementKind): string {
  return kind === 'float' ? 'float32 or float16' : kind;
}

/** Rank of output 0: text_encoder [B, L, D], denoisers and encoder [B, C, F, H, W], decoders [B, 3, F', H', W']. */
const OUTPUT_RANK: Record<ComponentName, number> = { text_encoder: 3, denoiser: 5, denoiser_2: 5, vae_decoder: 5, vae_encoder: 5, preview_decoder: 5 };

/** Returns the names of optional inputs the graph does take (e.g. attention_mask). */
export function checkComponentIO(pkg: ModelPackage, component: ComponentName, info: SessionInfo): Set<string> {
  const file = path.relative(pkg.dir, pkg.onnx[component] ?? component);
  const present = new Set<string>();
  const RULES = rules(pkg);
  const allowed = RULES[component].map((r) => r.name);
  for (const input of info.inputs) {
    if (!allowed.includes(input.name)) {
      throw new ModelInvalidError(pkg.dir, `${file} has an unexpected input "${input.name}"; its inputs must be ${allowed.join(', ')}`, { name: pkg.name });
    }
  }
  for (const rule of RULES[component]) {
    const input = info.inputs.find((i) => i.name === rule.name);
    if (!input) {
      if (rule.optional) continue;
      throw new ModelInvalidError(pkg.dir, `${file} lacks the input "${rule.name}" (found: ${info.inputs.map((i) => i.name).join(', ') || 'none'})`, { name: pkg.name });
    }
    present.add(rule.name);
    if (!typeMatches(input.type, rule.type)) throw new ModelInvalidError(pkg.dir, `${file} input "${rule.name}" is ${input.type}, expected ${describeKind(rule.type)}`, { name: pkg.name });
    if (input.shape.length > 0 && input.shape.length !== rule.rank) {
      throw new ModelInvalidError(pkg.dir, `${file} input "${rule.name}" has rank ${input.shape.length} [${input.shape.join(', ')}], expected rank ${rule.rank}`, { name: pkg.name });
    }
  }
  if (info.outputs.length === 0) throw new ModelInvalidError(pkg.dir, `${file} has no outputs`, { name: pkg.name });
  // The pipeline reads output 0 only: its type and rank must be what docs/model-package.md says.
  const out = info.outputs[0]!;
  const expected = OUTPUT_RANK[component];
  if (!typeMatches(out.type, 'float')) throw new ModelInvalidError(pkg.dir, `${file} output "${out.name}" is ${out.type}, expected float32 or float16`, { name: pkg.name });
  if (out.shape.length > 0 && out.shape.length !== expected) {
    throw new ModelInvalidError(pkg.dir, `${file} output "${out.name}" has rank ${out.shape.length} [${out.shape.join(', ')}], expected rank ${expected}`, { name: pkg.name });
  }
  if ((component === 'vae_decoder' || component === 'preview_decoder') && typeof out.shape[1] === 'number' && out.shape[1] !== 3) {
    throw new ModelInvalidError(pkg.dir, `${file} output "${out.name}" has ${out.shape[1]} channels, expected 3 (RGB)`, { name: pkg.name });
  }
  const c = pkg.config.latent_channels;
  // Where the latent channels show: the denoisers' hidden_states, the decoders' input, the encoder's output.
  const channelDim =
    component === 'denoiser' || component === 'denoiser_2'
      ? info.inputs.find((i) => i.name === 'hidden_states')?.shape[1]
      : component === 'text_encoder'
        ? undefined
        : component === 'vae_encoder'
          ? out.shape[1]
          : info.inputs[0]?.shape[1];
  if (typeof channelDim === 'number' && channelDim !== c) {
    throw new ModelInvalidError(pkg.dir, `${file} takes ${channelDim} latent channels but model_index.json says latent_channels = ${c}`, { name: pkg.name });
  }
  if (component === 'vae_encoder' && typeof info.inputs[0]?.shape[1] === 'number' && info.inputs[0].shape[1] !== 3) {
    throw new ModelInvalidError(pkg.dir, `${file} input "sample" has ${info.inputs[0].shape[1]} channels, expected 3 (RGB)`, { name: pkg.name });
  }
  return present;
}
