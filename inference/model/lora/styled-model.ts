// What a styled transformer is made from, and the making: the base graph's file, a checked merge plan and a strength,
// turned into the merged graph's bytes. It runs in the inference worker thread (worker/onnx-worker.ts), not on the
// event loop: for tiny-world the read, merge and rewrite take 100–400 ms of CPU on this machine, which the daemon's
// streams must not wait behind. The description is what crosses threads (and is sent again after a worker crash), so
// the main thread never holds the merged bytes.
import { applyMerge, type MergePlan } from './merge.ts';
import { convertBf16Edges } from '../bf16-edges.ts';
import { indexInitializers, readInitializer, readOnnxFile, rewriteInitializers } from './onnx-initializers.ts';

export interface StyledModelSource {
  styled: {
    /** The base transformer/model.onnx. */
    file: string;
    /** Its name in messages (package-relative). */
    label: string;
    plan: MergePlan;
    strength: number;
  };
}

export function isStyledModelSource(value: unknown): value is StyledModelSource {
  return typeof value === 'object' && value !== null && 'styled' in value;
}

/** The merged graph's bytes (with bf16 edges converted to float32, as the plain transformer's are: bf16-edges.ts). */
export async function buildStyledModel({ styled }: StyledModelSource): Promise<Uint8Array> {
  const bytes = await readOnnxFile(styled.file, styled.label);
  const index = indexInitializers(bytes, styled.label);
  const updates = applyMerge(styled.plan, styled.strength, (name) => readInitializer(bytes, index.byName.get(name)!, styled.label));
  return convertBf16Edges(rewriteInitializers(bytes, index, updates, styled.label));
}
