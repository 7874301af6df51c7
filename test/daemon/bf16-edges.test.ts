// bfloat16 edges converted at the boundary (inference/model/bf16-edges.ts): which edges are bf16, a graph without any
// left as it is, a converted graph that onnxruntime-node loads with float32 edges and whose outputs are the inputs
// rounded to bf16 exactly as a bf16 feed would be (round to nearest even, half-float.ts's converter as the reference),
// fresh names that never clash, and a damaged file that fails with an error instead of a hang or a wrong graph.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildBf16EdgeModel, CANNOT_CONVERT, convertBf16Edges, findBf16Edges } from '../../inference/model/bf16-edges.ts';
import { bfloat16BitsToFloat32, float32ToBfloat16Bits } from '../../inference/backend/half-float.ts';
import { GraphBuilder } from '../fixtures/onnx/builder.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-bf16-edges-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** x (bf16) → Identity → y (bf16), and a float32 input `scale` → Mul by itself → `sq` (float32), untouched. */
async function graph(extraName?: string): Promise<Uint8Array> {
  const g = new GraphBuilder('bf16_edges');
  g.input('x', 'bfloat16', [4]);
  g.input('scale', 'float32', [1]);
  if (extraName) {
    // A tensor already called what the converter would call the new one.
    g.op('Identity', ['x'], {}, extraName);
    g.op('Identity', [extraName], {}, 'y');
  } else g.op('Identity', ['x'], {}, 'y');
  g.op('Mul', ['scale', 'scale'], {}, 'sq');
  g.output('y', 'bfloat16', [4]);
  g.output('sq', 'float32', [1]);
  return g.write(path.join(dir, `g-${extraName ?? 'plain'}.onnx`));
}

const VALUES = [1.5, 3.14159, -0.001234, 65504.5];
const asBf16 = (v: number) => bfloat16BitsToFloat32(float32ToBfloat16Bits(v));

async function runConverted(bytes: Uint8Array) {
  const session = await ort.InferenceSession.create(convertBf16Edges(bytes));
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(VALUES), [4]), scale: new ort.Tensor('float32', Float32Array.from([3]), [1]) });
  const types = [...session.inputMetadata, ...session.outputMetadata].map((m) => `${m.name}:${m.isTensor ? m.type : '?'}`);
  await session.release();
  return { y: Array.from(out.y!.data as Float32Array), sq: Array.from(out.sq!.data as Float32Array), types };
}

describe('bf16 edges', () => {
  it('finds the bf16 inputs and outputs, and leaves a graph without any as the very same bytes', async () => {
    expect(findBf16Edges(await graph())).toEqual({ inputs: ['x'], outputs: ['y'] });
    const g = new GraphBuilder('plain');
    g.input('a', 'float32', [1]);
    g.op('Identity', ['a'], {}, 'b');
    g.output('b', 'float32', [1]);
    const plain = await g.write(path.join(dir, 'plain.onnx'));
    expect(convertBf16Edges(plain)).toBe(plain);
  });

  it('onnxruntime-node refuses the graph as it is, and loads the converted one with float32 edges; outputs are bf16-rounded inputs', async () => {
    const bytes = await graph();
    await expect(ort.InferenceSession.create(bytes)).rejects.toThrow(/Unsupported data type: 16/);
    const { y, sq, types } = await runConverted(bytes);
    expect(types).toEqual(['x:float32', 'scale:float32', 'y:float32', 'sq:float32']);
    expect(y).toEqual(VALUES.map(asBf16));
    expect(y[1]).toBe(3.140625); // 3.14159 has no bf16 of its own
    expect(sq).toEqual([9]);
  });

  it('a name the converter would take is already used: it picks another', async () => {
    const { y } = await runConverted(await graph('x__bf16'));
    expect(y).toEqual(VALUES.map(asBf16));
  });

  it('a damaged file fails with the conversion named, never a hang or a graph that loads wrong', async () => {
    const bytes = await graph();
    const file = path.join(dir, 'cut.onnx');
    let failures = 0;
    for (const n of [1, 5, 17, Math.floor(bytes.length / 2), bytes.length - 3]) {
      await writeFile(file, bytes.subarray(0, n));
      const err = await buildBf16EdgeModel({ bf16Edges: { file, label: 'cut.onnx' } }).then(() => undefined, (e: unknown) => e);
      if (err) {
        failures++;
        expect((err as Error).message.startsWith(CANNOT_CONVERT), (err as Error).message).toBe(true);
      }
    }
    // Cut inside the graph, the walker notices; the prefixes it may read as whole fields still load nothing wrong.
    expect(failures).toBeGreaterThanOrEqual(3);
  });
});
