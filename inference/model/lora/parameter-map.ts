// transformer/parameter_map.json: which ONNX initializer holds each torch parameter, written by the export
// (training/param_map.py). torch.onnx.export keeps a Linear's name when it becomes a Gemm (`blocks.0.ff.net_0.weight`,
// stored [out, in]) but folds the transpose of a MatMul'd Linear into an anonymous `onnx::MatMul_N` holding Wᵀ
// ([in, out]); names alone cannot find those, so the export matches them by value and writes them down:
//   { "blocks.0.attn1.to_q.weight": { "initializer": "onnx::MatMul_2039", "transposed": true }, ... }
// Parameters whose initializer has their own name need no entry. Every entry must name an initializer of the graph.
import { z } from 'zod';
import { describeZodError } from '../manifest.ts';
import { LoraError, LoraErrorCode } from './errors.ts';
import type { InitializerIndex } from './onnx-initializers.ts';

export interface ParameterTarget {
  initializer: string;
  /** The initializer holds the parameter transposed ([in, out] for a Linear weight). */
  transposed: boolean;
}
export type ParameterMap = ReadonlyMap<string, ParameterTarget>;

const schema = z.record(z.string().min(1), z.object({ initializer: z.string().min(1), transposed: z.boolean().default(false) }));

export const PARAMETER_MAP_FILE = 'parameter_map.json';

export function parseParameterMap(json: unknown, index: InitializerIndex, label: string): ParameterMap {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new LoraError(LoraErrorCode.ParameterMapInvalid, label, describeZodError(parsed.error));
  const map = new Map<string, ParameterTarget>();
  for (const [parameter, target] of Object.entries(parsed.data)) {
    if (!index.byName.has(target.initializer)) throw new LoraError(LoraErrorCode.ParameterMapInvalid, label, `"${parameter}" maps to initializer "${target.initializer}", which the graph does not have (is the map from another export?)`);
    map.set(parameter, target);
  }
  return map;
}
