// The float16 / bfloat16 converters of the onnxruntime boundary (inference/backend/half-float.ts) on known values,
// ties (round to nearest even), subnormals, overflow and NaN; every half round-trips; and float32 → float16 agrees
// bit for bit with onnxruntime's own Cast, the rounding the export's graphs use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits, fromFloat16Array, toFloat16Array,
} from '../../inference/backend/half-float.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { GraphBuilder } from '../fixtures/onnx/builder.ts';

describe('float16', () => {
  const known: Array<[number, number]> = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [0.1, 0x2e66], [1 / 3, 0x3555],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -24 * 1023, 0x03ff], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    // ties to even: 1 + 2^-11 sits between 1 and 1 + 2^-10, 1 + 3·2^-11 between 1 + 2^-10 and 1 + 2^-9
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1 + 2 ** -11 + 2 ** -20, 0x3c01],
    // 65520 is halfway to 65536 (not representable): rounds to even, past the largest finite half, Infinity
    [65520, 0x7c00], [65519, 0x7bff], [1e6, 0x7c00],
    // subnormal ties: 2^-25 is halfway between 0 and 2^-24 (to 0, even), 3·2^-25 halfway between 2^-24 and 2^-23 (to 2^-23)
    [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -25 + 2 ** -40, 0x0001], [2 ** -30, 0x0000],
    // a subnormal that rounds up into the smallest normal
    [2 ** -14 - 2 ** -26, 0x0400],
  ];
  it.each(known.map(([value, bits]) => [value, `0x${bits.toString(16)}`, bits] as const))('%d → %s', (value, _hex, bits) => {
    expect(float32ToFloat16Bits(value).toString(16)).toBe(bits.toString(16));
  });

  it('NaN stays NaN', () => {
    expect(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN))).toBeNaN();
  });

  it('every non-NaN half converts to float32 and back to the same bits', () => {
    let checked = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16BitsToFloat32(bits);
      if (Number.isNaN(value)) continue;
      if (float32ToFloat16Bits(value) !== bits) throw new Error(`0x${bits.toString(16)} → ${value} → 0x${float32ToFloat16Bits(value).toString(16)}`);
      checked++;
    }
    expect(checked).toBe(0x10000 - 2 * 1023);
    expect(float16BitsToFloat32(0x3555)).toBe(0.333251953125);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
  });
});

describe('bfloat16', () => {
  const known: Array<[number, number]> = [
    [1, 0x3f80], [-1, 0xbf80], [Math.PI, 0x4049], [0.1, 0x3dcd], [0, 0], [-0, 0x8000], [Infinity, 0x7f80],
    [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.4028234663852886e38, 0x7f80], // the largest float32 rounds up past the largest bf16: Infinity, as PyTorch gives
    [2 ** -130, 0x0008], // a float32 subnormal (bits 0x00080000) keeps its top half
  ];
  it.each(known.map(([value, bits]) => [value, `0x${bits.toString(16)}`, bits] as const))('%d → %s', (value, _hex, bits) => {
    expect(float32ToBfloat16Bits(value).toString(16)).toBe(bits.toString(16));
  });

  it('NaN stays NaN, and every bf16 value round-trips', () => {
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(Number.NaN))).toBeNaN();
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = bfloat16BitsToFloat32(bits);
      if (Number.isNaN(value)) continue;
      if (float32ToBfloat16Bits(value) !== bits) throw new Error(`0x${bits.toString(16)} does not round-trip`);
    }
    expect(bfloat16BitsToFloat32(0x4049)).toBe(3.140625);
  });
});

describe('against onnxruntime', () => {
  let dir: string;
  let worker: OnnxWorkerClient;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'animate-half-'));
    worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await worker.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("float32 → float16 matches onnxruntime's Cast bit for bit (read back through the boundary's float16 output)", async () => {
    // x (float32) → Cast to float16 → output: the boundary turns the half bits back into float32 exactly.
    const g = new GraphBuilder('cast_to_half');
    g.input('x', 'float32', ['n']);
    g.op('Cast', ['x'], { to: { int: 10 } }, 'y');
    g.output('y', 'float16', ['n']);
    const file = path.join(dir, 'cast.onnx');
    await g.write(file);
    await worker.load('cast', file);
    // Values of every magnitude a latent or an embedding takes, with ties and subnormals among them.
    const values = new Float32Array(20000);
    let seed = 12345;
    for (let i = 0; i < values.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const mantissa = seed / 2 ** 32;
      values[i] = (mantissa - 0.5) * 2 ** ((i % 40) - 26);
    }
    values.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 65520, 65519], 0);
    const { outputs } = await worker.run('cast', { x: { type: 'float32', dims: [values.length], data: values } });
    const ours = fromFloat16Array(toFloat16Array(values));
    const theirs = outputs.y!.data as Float32Array;
    let mismatches = 0;
    for (let i = 0; i < values.length; i++) if (!Object.is(ours[i], theirs[i])) mismatches++;
    console.log(`float16 rounding vs onnxruntime Cast: ${mismatches} of ${values.length} differ`);
    expect(mismatches).toBe(0);
    await worker.dispose('cast');
  });
});
