// The LoRA merge: W' = W + (alpha / r) · strength · B·A on the transformer's initializers, computed once per style and
// strength (then onnxruntime runs the merged graph at no extra cost per step). planMerge checks an adapter against
// the graph once, at package load: every module's lora_A [r, in] and lora_B [out, r] pair, its initializer (by name,
// or through parameter_map.json), and that initializer's shape; applyMerge then only does arithmetic.
// Arithmetic: the delta Σ_k B[o,k]·A[k,i] is summed in float64 and scaled, added to the float32 weight, and rounded once
// to float32 (and to the initializer's own type when it is float16 or bfloat16). At strength 0 the weights come
// back bit for bit.
import { isTargeted, loraScale, type AdapterConfig } from './peft-config.ts';
import { LoraError, LoraErrorCode } from './errors.ts';
import { ONNX_BFLOAT16, ONNX_FLOAT, ONNX_FLOAT16, typeName, type InitializerIndex } from './onnx-initializers.ts';
import type { ParameterMap } from './parameter-map.ts';
import type { SafetensorsFile } from './safetensors.ts';

/** PEFT's key for a module's factors: base_model.model.<module path>.lora_A.weight / .lora_B.weight. */
const PEFT_KEY = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

export interface MergeTarget {
  /** The torch module path, e.g. "blocks.0.attn1.to_q". */
  module: string;
  initializer: string;
  /** The initializer holds the delta's transpose ([in, out]). */
  transposed: boolean;
  out: number;
  in: number;
  rank: number;
  /** [rank, in] row-major. */
  A: Float32Array;
  /** [out, rank] row-major. */
  B: Float32Array;
}

export interface MergePlan {
  /** alpha / r (rsLoRA: alpha / √r). */
  scale: number;
  targets: MergeTarget[];
}

export interface PlanInputs {
  adapter: SafetensorsFile;
  config: AdapterConfig;
  /** Package-relative names for messages. */
  labels: { adapter: string; config: string; onnx: string; parameterMap: string };
  index: InitializerIndex;
  /** transformer/parameter_map.json when the package has one. */
  parameterMap: ParameterMap | undefined;
}

export function planMerge(p: PlanInputs): MergePlan {
  const { labels } = p;
  const shape = (problem: string) => new LoraError(LoraErrorCode.ShapeMismatch, labels.adapter, problem);
  const pairs = new Map<string, { A?: { shape: number[]; values: Float32Array }; B?: { shape: number[]; values: Float32Array } }>();
  for (const [key, tensor] of p.adapter.tensors) {
    const m = PEFT_KEY.exec(key);
    if (!m) throw new LoraError(LoraErrorCode.ConfigInvalid, labels.adapter, `tensor "${key}" is not a LoRA factor; PEFT names them base_model.model.<module>.lora_A.weight and .lora_B.weight`);
    const entry = pairs.get(m[1]!) ?? {};
    entry[m[2] as 'A' | 'B'] = tensor;
    pairs.set(m[1]!, entry);
  }
  if (pairs.size === 0) throw new LoraError(LoraErrorCode.ConfigInvalid, labels.adapter, 'holds no LoRA factors');
  const r = p.config.r;
  const targets: MergeTarget[] = [];
  const claimed = new Map<string, string>();
  for (const [module, { A, B }] of [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!A || !B) throw shape(`module "${module}" has lora_${A ? 'A' : 'B'} but no lora_${A ? 'B' : 'A'}`);
    if (!isTargeted(p.config, module)) throw new LoraError(LoraErrorCode.ConfigInvalid, labels.config, `module "${module}" has factors in ${labels.adapter} but is not in target_modules`);
    if (A.shape.length !== 2 || A.shape[0] !== r) throw shape(`lora_A of "${module}" is [${A.shape.join(', ')}]; expected [r, in] with r = ${r} (${labels.config})`);
    if (B.shape.length !== 2 || B.shape[1] !== r) throw shape(`lora_B of "${module}" is [${B.shape.join(', ')}]; expected [out, r] with r = ${r} (${labels.config})`);
    const [out, inDim] = [B.shape[0]!, A.shape[1]!];
    const parameter = `${module}.weight`;
    const mapped = p.parameterMap?.get(parameter);
    const direct = p.index.byName.has(parameter) ? { initializer: parameter, transposed: false } : undefined;
    const target = mapped ?? direct;
    if (!target) {
      const why = p.parameterMap ? `${labels.parameterMap} does not list "${parameter}"` : `the package has no ${labels.parameterMap} to say where it is`;
      throw new LoraError(LoraErrorCode.TargetMissing, labels.adapter, `target module "${module}" has no matching initializer in ${labels.onnx} (no initializer "${parameter}", and ${why})`);
    }
    const info = p.index.byName.get(target.initializer)!;
    const transposed = target.transposed !== p.config.fan_in_fan_out;
    const want = transposed ? [inDim, out] : [out, inDim];
    if (info.dims.length !== 2 || info.dims[0] !== want[0] || info.dims[1] !== want[1]) {
      throw shape(`module "${module}": B·A is [${out}, ${inDim}], but its initializer "${target.initializer}" in ${labels.onnx} is [${info.dims.join(', ')}]${transposed ? ' (held transposed)' : ''}; expected [${want.join(', ')}]`);
    }
    if (![ONNX_FLOAT, ONNX_FLOAT16, ONNX_BFLOAT16].includes(info.dataType)) throw new LoraError(LoraErrorCode.OnnxUnsupported, labels.onnx, `initializer "${target.initializer}" (module "${module}") is ${typeName(info.dataType)}; styles update float32, float16 and bfloat16 weights only`);
    if (info.external) throw new LoraError(LoraErrorCode.OnnxUnsupported, labels.onnx, `initializer "${target.initializer}" (module "${module}") keeps its data outside the file (external data); styles need the weights they change inside model.onnx`);
    const other = claimed.get(target.initializer);
    if (other) throw new LoraError(LoraErrorCode.ParameterMapInvalid, labels.parameterMap, `modules "${other}" and "${module}" both map to initializer "${target.initializer}"`);
    claimed.set(target.initializer, module);
    targets.push({ module, initializer: target.initializer, transposed, out, in: inDim, rank: r, A: A.values, B: B.values });
  }
  return { scale: loraScale(p.config), targets };
}

/** The merged values of each target initializer at `strength`, given the base values (read from the graph). */
export function applyMerge(plan: MergePlan, strength: number, base: (initializer: string) => Float32Array): Map<string, Float32Array> {
  const updates = new Map<string, Float32Array>();
  const k = plan.scale * strength;
  for (const t of plan.targets) {
    const w = base(t.initializer);
    const merged = new Float32Array(w.length);
    if (k === 0) {
      // Bit for bit, signed zeros included (w + 0 would turn −0 into +0).
      updates.set(t.initializer, w.slice());
      continue;
    }
    for (let o = 0; o < t.out; o++) {
      for (let i = 0; i < t.in; i++) {
        let sum = 0;
        for (let j = 0; j < t.rank; j++) sum += t.B[o * t.rank + j]! * t.A[j * t.in + i]!;
        const at = t.transposed ? i * t.out + o : o * t.in + i;
        merged[at] = w[at]! + k * sum;
      }
    }
    updates.set(t.initializer, merged);
  }
  return updates;
}
