// The two file formats under the merge, read and written without their libraries: safetensors (lora/safetensors.ts:
// dtypes, metadata, bounds) and the initializers of a model.onnx (lora/onnx-initializers.ts: raw_data, float_data,
// float16 in int32_data, rewritten as raw_data that onnxruntime then runs).
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../inference/backend/half-float.ts';
import { LoraError } from '../../inference/model/lora/errors.ts';
import { indexInitializers, readInitializer, rewriteInitializers } from '../../inference/model/lora/onnx-initializers.ts';
import { parseSafetensors } from '../../inference/model/lora/safetensors.ts';
import { encodeSafetensors } from '../fixtures/lora-fixture.ts';
import { GraphBuilder } from '../fixtures/onnx/builder.ts';

const LABEL = 'loras/x/adapter_model.safetensors';

function thrown(fn: () => unknown): LoraError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LoraError);
    return err as LoraError;
  }
  throw new Error('expected a LoraError');
}

describe('safetensors', () => {
  it('reads F32 and F16 tensors (widened exactly) and the metadata', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [2, 2], values: [1, -2.5, 0.1, 3] }, b: { dtype: 'F16', shape: [3], values: [0.5, -1, 1 / 3] } }, { format: 'pt' });
    const file = parseSafetensors(bytes, LABEL);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.tensors.get('a')).toEqual({ dtype: 'F32', shape: [2, 2], values: Float32Array.of(1, -2.5, 0.1, 3) });
    expect(Array.from(file.tensors.get('b')!.values)).toEqual([0.5, -1, float16BitsToFloat32(float32ToFloat16Bits(1 / 3))]);
  });

  it('refuses, naming the file: an oversized header, bad JSON, a tensor past the data, a wrong byte count, an integer dtype', () => {
    const withHeader = (json: string, data = 0) => {
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
      return new Uint8Array(Buffer.concat([head, Buffer.from(json), Buffer.alloc(data)]));
    };
    const big = thrown(() => parseSafetensors(withHeader('{"a":1}'.padEnd(100, ' ')), LABEL, { maxHeaderBytes: 64 }));
    expect([big.code, big.message]).toEqual(['SAFETENSORS_TOO_LARGE', `${LABEL}: says its JSON header is 100 bytes; at most 64 allowed`]);
    expect(thrown(() => parseSafetensors(withHeader('{"a":'), LABEL)).code).toBe('SAFETENSORS_MALFORMED');
    expect(thrown(() => parseSafetensors(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4), LABEL)).message).toBe(`${LABEL}: tensor "a" reads bytes 0..8 of a data section of 4 bytes`);
    expect(thrown(() => parseSafetensors(withHeader('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8), LABEL)).message).toBe(`${LABEL}: tensor "a" holds 8 bytes; F32 [3] needs 12`);
    const dtype = thrown(() => parseSafetensors(withHeader('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', 8), LABEL));
    expect([dtype.code, dtype.message]).toEqual(['SAFETENSORS_DTYPE', `${LABEL}: tensor "a" is I64; adapters must be F32, F16 or BF16`]);
    expect(thrown(() => parseSafetensors(new Uint8Array(5), LABEL)).message).toBe(`${LABEL}: is 5 bytes, shorter than the 8-byte header length safetensors starts with`);
  });
});

describe('ONNX initializers', () => {
  /** y = x + Cast(w16) + wf: w16 float16 in int32_data, wf float32 in float_data, neither as raw_data. */
  function model(): Uint8Array {
    const g = new GraphBuilder('formats');
    const x = g.input('x', 'float32', [4]);
    const half = g.op('Cast', ['w16'], { to: { int: 1 } });
    g.op('Add', [g.op('Add', [x, half]), 'wf'], {}, 'y');
    g.output('y', 'float32', [4]);
    const m = g.toModel() as { graph: { initializer: object[] } };
    m.graph.initializer.push({ name: 'w16', dims: [4], dataType: 10, int32Data: [0.5, -1, 2, 0.25].map(float32ToFloat16Bits) });
    m.graph.initializer.push({ name: 'wf', dims: [4], dataType: 1, floatData: [1, 2, 3, 4] });
    const type = protobuf.loadSync(fileURLToPath(new URL('../fixtures/onnx/onnx.proto', import.meta.url))).lookupType('onnx.ModelProto');
    return type.encode(type.fromObject(m)).finish();
  }

  async function runY(bytes: Uint8Array, x: number[]): Promise<number[]> {
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [4]) });
    await session.release();
    return Array.from(out.y!.data as Float32Array);
  }

  it('index names, dims and types, and read float_data and float16 int32_data', () => {
    const bytes = model();
    const index = indexInitializers(bytes, 'transformer/model.onnx');
    const w16 = index.byName.get('w16')!;
    const wf = index.byName.get('wf')!;
    expect([w16.dims, w16.dataType, w16.external, wf.dims, wf.dataType]).toEqual([[4], 10, false, [4], 1]);
    expect(Array.from(readInitializer(bytes, w16, 'transformer/model.onnx'))).toEqual([0.5, -1, 2, 0.25]);
    expect(Array.from(readInitializer(bytes, wf, 'transformer/model.onnx'))).toEqual([1, 2, 3, 4]);
  });

  it('rewrite updated tensors as raw_data in their own type and copy the rest byte for byte; onnxruntime runs the result', async () => {
    const bytes = model();
    const index = indexInitializers(bytes, 'transformer/model.onnx');
    expect(Buffer.from(rewriteInitializers(bytes, index, new Map(), 'transformer/model.onnx')).equals(Buffer.from(bytes))).toBe(true);
    expect(await runY(bytes, [0, 0, 0, 0])).toEqual([1.5, 1, 5, 4.25]);

    const updated = rewriteInitializers(bytes, index, new Map([['w16', Float32Array.of(0.1, 0.2, -3, 1000.3)], ['wf', Float32Array.of(10, 20, 30, 40)]]), 'transformer/model.onnx');
    const again = indexInitializers(updated, 'transformer/model.onnx');
    const half = [0.1, 0.2, -3, 1000.3].map((v) => float16BitsToFloat32(float32ToFloat16Bits(v)));
    expect(Array.from(readInitializer(updated, again.byName.get('w16')!, 'transformer/model.onnx'))).toEqual(half);
    expect(again.byName.get('w16')!.dims).toEqual([4]);
    const y = await runY(updated, [1, 1, 1, 1]);
    expect(y).toEqual(half.map((h, i) => Math.fround(Math.fround(1 + h) + (i + 1) * 10)));
    console.log(`[lora-formats] ${bytes.length} → ${updated.length} bytes; y = ${y.join(', ')}`);
  });

  it('refuse a file that is not a ModelProto, and an update of the wrong size', () => {
    const junk = thrown(() => indexInitializers(Uint8Array.of(0x3a, 0xff, 0xff, 0x01), 'transformer/model.onnx'));
    expect(junk.code).toBe('LORA_ONNX_UNSUPPORTED');
    expect(junk.message).toMatch(/^transformer\/model\.onnx: is not a readable ONNX model \(/);
    const bytes = model();
    const index = indexInitializers(bytes, 'transformer/model.onnx');
    expect(thrown(() => rewriteInitializers(bytes, index, new Map([['wf', new Float32Array(3)]]), 'transformer/model.onnx')).message).toBe('transformer/model.onnx: initializer "wf" holds 4 values; the update has 3');
  });
});
