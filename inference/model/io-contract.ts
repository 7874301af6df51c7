// Checks that each ONNX graph of a package has the inputs and ranks the pipeline feeds it, and the output it reads
// (docs/model-package.md).
import path from 'node:path';
import { ModelInvalidError } from '../errors.ts';
import type { SessionInfo } from '../worker/onnx-worker-client.ts';
import type { ComponentName, ModelPackage } from './package.ts';

interface InputRule {
  name: string;
  rank: number;
  type: 'float32' | 'int64';
  optional?: boolean;
}

const RULES: Record<ComponentName, InputRule[]> = {
  text_encoder: [
    { name: 'input_ids', rank: 2, type: 'int64' },
    { name: 'attention_mask', rank: 2, type: 'int64', optional: true },
  ],
  denoiser: [
    { name: 'hidden_states', rank: 5, type: 'float32' },
    { name: 'timestep', rank: 1, type: 'float32' },
    { name: 'encoder_hidden_states', rank: 3, type: 'float32' },
  ],
  vae_decoder: [{ name: 'latent_sample', rank: 5, type: 'float32' }],
  preview_decoder: [{ name: 'latent_sample', rank: 5, type: 'float32' }],
};

/** Rank of output 0: text_encoder [B, L, D], denoiser [B, C, F, H, W], decoders [B, 3, F', H', W']. */
const OUTPUT_RANK: Record<ComponentName, number> = { text_encoder: 3, denoiser: 5, vae_decoder: 5, preview_decoder: 5 };

/** Returns the names of optional inputs the graph does take (e.g. attention_mask). */
export function checkComponentIO(pkg: ModelPackage, component: ComponentName, info: SessionInfo): Set<string> {
  const file = path.relative(pkg.dir, pkg.onnx[component] ?? component);
  const present = new Set<string>();
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
    if (input.type !== rule.type) throw new ModelInvalidError(pkg.dir, `${file} input "${rule.name}" is ${input.type}, expected ${rule.type}`, { name: pkg.name });
    if (input.shape.length > 0 && input.shape.length !== rule.rank) {
      throw new ModelInvalidError(pkg.dir, `${file} input "${rule.name}" has rank ${input.shape.length} [${input.shape.join(', ')}], expected rank ${rule.rank}`, { name: pkg.name });
    }
  }
  if (info.outputs.length === 0) throw new ModelInvalidError(pkg.dir, `${file} has no outputs`, { name: pkg.name });
  // The pipeline reads output 0 only: its type and rank must be what docs/model-package.md says.
  const out = info.outputs[0]!;
  const expected = OUTPUT_RANK[component];
  if (out.type !== 'float32') throw new ModelInvalidError(pkg.dir, `${file} output "${out.name}" is ${out.type}, expected float32`, { name: pkg.name });
  if (out.shape.length > 0 && out.shape.length !== expected) {
    throw new ModelInvalidError(pkg.dir, `${file} output "${out.name}" has rank ${out.shape.length} [${out.shape.join(', ')}], expected rank ${expected}`, { name: pkg.name });
  }
  if ((component === 'vae_decoder' || component === 'preview_decoder') && typeof out.shape[1] === 'number' && out.shape[1] !== 3) {
    throw new ModelInvalidError(pkg.dir, `${file} output "${out.name}" has ${out.shape[1]} channels, expected 3 (RGB)`, { name: pkg.name });
  }
  const c = pkg.config.latent_channels;
  const channelDim = component === 'denoiser' ? info.inputs.find((i) => i.name === 'hidden_states')?.shape[1] : component === 'text_encoder' ? undefined : info.inputs[0]?.shape[1];
  if (typeof channelDim === 'number' && channelDim !== c) {
    throw new ModelInvalidError(pkg.dir, `${file} takes ${channelDim} latent channels but model_index.json says latent_channels = ${c}`, { name: pkg.name });
  }
  return present;
}
