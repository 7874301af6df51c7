// Reads and rewrites the initializers of a model.onnx held in memory, without an ONNX library: a minimal walker over
// the protobuf wire format, for the few fields a merge touches (ModelProto.graph = 7 → GraphProto.initializer = 5 →
// TensorProto dims = 1, data_type = 2, float_data = 4, int32_data = 5, name = 8, raw_data = 9, external_data = 13,
// data_location = 14). A rewrite copies every other byte of the file as it was and re-encodes only the updated
// tensors (as raw_data, in their own element type), so the merged graph is the exported one with new weights.
// float32, float16 and bfloat16 tensors are read and written; data kept outside the file (external data) is refused,
// since the merged bytes are handed to onnxruntime as one buffer.
import { readFile, stat } from 'node:fs/promises';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from '../../backend/half-float.ts';
import { LoraError, LoraErrorCode } from './errors.ts';
import { fields, header, varint, WIRE } from '../protobuf-wire.ts';

/**
 * The largest model.onnx read here: Node reads at most 2 GiB − 1 bytes into one buffer (readFile's own limit, where it
 * throws an ERR_FS_FILE_TOO_LARGE naming neither package nor file), and a protobuf message, so an ONNX file with its
 * weights inside, is limited to 2 GiB too. Larger graphs keep their weights as external data, which a merge refuses.
 */
export const MAX_ONNX_FILE_BYTES = 2 ** 31 - 1;

/** The bytes of a model.onnx to index or merge; a file over MAX_ONNX_FILE_BYTES is refused, named, before any read. */
export async function readOnnxFile(file: string, label: string): Promise<Uint8Array> {
  const { size } = await stat(file);
  if (size > MAX_ONNX_FILE_BYTES) {
    throw new LoraError(
      LoraErrorCode.OnnxUnsupported,
      label,
      `is ${size} bytes (${(size / 2 ** 30).toFixed(1)} GiB); styles (loras/) need a transformer of at most ${MAX_ONNX_FILE_BYTES} bytes (2 GiB, the most read into memory at once) with its weights inside the file; remove loras/ from this package, or use a smaller transformer`,
    );
  }
  return new Uint8Array(await readFile(file));
}

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR = { dims: 1, dataType: 2, floatData: 4, int32Data: 5, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;

/** TensorProto.DataType values the merge takes. */
export const ONNX_FLOAT = 1;
export const ONNX_FLOAT16 = 10;
export const ONNX_BFLOAT16 = 16;
const TYPE_NAMES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

export interface InitializerInfo {
  name: string;
  dims: number[];
  dataType: number;
  /** Whether its data is outside the file (external_data / data_location EXTERNAL). */
  external: boolean;
  /** The TensorProto's payload in the model's bytes. */
  start: number;
  end: number;
}

export interface InitializerIndex {
  /** Top-level graph initializers by name. */
  byName: Map<string, InitializerInfo>;
}

function unsupported(label: string, problem: string, cause?: unknown): LoraError {
  return new LoraError(LoraErrorCode.OnnxUnsupported, label, problem, { cause });
}

/** The top-level initializers of a ModelProto (names, dims, types, where they are); `label` names the file in errors. */
export function indexInitializers(bytes: Uint8Array, label: string): InitializerIndex {
  const byName = new Map<string, InitializerInfo>();
  const decoder = new TextDecoder();
  try {
    for (const g of fields(bytes, 0, bytes.length)) {
      if (g.number !== MODEL_GRAPH || g.wire !== WIRE.len) continue;
      for (const f of fields(bytes, g.start, g.end)) {
        if (f.number !== GRAPH_INITIALIZER || f.wire !== WIRE.len) continue;
        const info: InitializerInfo = { name: '', dims: [], dataType: 0, external: false, start: f.start, end: f.end };
        for (const t of fields(bytes, f.start, f.end)) {
          if (t.number === TENSOR.name && t.wire === WIRE.len) info.name = decoder.decode(bytes.subarray(t.start, t.end));
          else if (t.number === TENSOR.dataType && t.wire === WIRE.varint) info.dataType = t.value;
          else if (t.number === TENSOR.dims && t.wire === WIRE.varint) info.dims.push(t.value);
          else if (t.number === TENSOR.dims && t.wire === WIRE.len) for (let p = t.start; p < t.end; ) {
            const [d, next] = varint(bytes, p, t.end);
            info.dims.push(d);
            p = next;
          }
          else if (t.number === TENSOR.externalData || (t.number === TENSOR.dataLocation && t.value === 1)) info.external = true;
        }
        byName.set(info.name, info);
      }
    }
  } catch (err) {
    throw unsupported(label, `is not a readable ONNX model (${(err as Error).message})`, err);
  }
  return { byName };
}

export function typeName(dataType: number): string {
  return TYPE_NAMES[dataType] ?? `type ${dataType}`;
}

/** An initializer's values as float32 (float16 and bfloat16 widened exactly). */
export function readInitializer(bytes: Uint8Array, info: InitializerInfo, label: string): Float32Array {
  if (info.external) throw unsupported(label, `initializer "${info.name}" keeps its data outside the file (external data); styles need the transformer's weights inside model.onnx`);
  if (![ONNX_FLOAT, ONNX_FLOAT16, ONNX_BFLOAT16].includes(info.dataType)) throw unsupported(label, `initializer "${info.name}" is ${typeName(info.dataType)}; styles can update float32, float16 and bfloat16 weights only`);
  const count = info.dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const half = info.dataType === ONNX_FLOAT16 ? float16BitsToFloat32 : bfloat16BitsToFloat32;
  let n = 0;
  for (const t of fields(bytes, info.start, info.end)) {
    if (t.number === TENSOR.rawData && t.wire === WIRE.len) {
      const width = info.dataType === ONNX_FLOAT ? 4 : 2;
      if (t.end - t.start !== count * width) throw unsupported(label, `initializer "${info.name}" holds ${t.end - t.start} bytes of raw_data; [${info.dims.join(', ')}] ${typeName(info.dataType)} needs ${count * width}`);
      for (let i = 0; i < count; i++) out[i] = width === 4 ? view.getFloat32(t.start + 4 * i, true) : half(view.getUint16(t.start + 2 * i, true));
      return out;
    }
    if (t.number === TENSOR.floatData && info.dataType === ONNX_FLOAT) {
      if (t.wire === WIRE.len) for (let p = t.start; p + 4 <= t.end && n < count; p += 4) out[n++] = view.getFloat32(p, true);
      else if (t.wire === WIRE.i32 && n < count) out[n++] = view.getFloat32(t.start, true);
    } else if (t.number === TENSOR.int32Data && info.dataType !== ONNX_FLOAT) {
      // float16 / bfloat16 without raw_data: one uint16 bit pattern per int32_data entry.
      if (t.wire === WIRE.len) for (let p = t.start; p < t.end && n < count; ) {
        const [bits, next] = varint(bytes, p, t.end);
        out[n++] = half(bits & 0xffff);
        p = next;
      }
      else if (t.wire === WIRE.varint && n < count) out[n++] = half(t.value & 0xffff);
    }
  }
  if (n !== count) throw unsupported(label, `initializer "${info.name}" holds ${n} values; [${info.dims.join(', ')}] needs ${count}`);
  return out;
}

/** The values in the tensor's own element type, little-endian (float16/bfloat16 rounded to nearest even). */
function rawBytes(values: Float32Array, dataType: number): Uint8Array {
  if (dataType === ONNX_FLOAT) return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  const toBits = dataType === ONNX_FLOAT16 ? float32ToFloat16Bits : float32ToBfloat16Bits;
  for (let i = 0; i < values.length; i++) view.setUint16(2 * i, toBits(values[i]!), true);
  return out;
}

/** A TensorProto payload with its data replaced by `values` as raw_data; every other field kept as it was. */
function encodeTensor(bytes: Uint8Array, info: InitializerInfo, values: Float32Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const t of fields(bytes, info.start, info.end)) {
    if (t.number === TENSOR.floatData || t.number === TENSOR.int32Data || t.number === TENSOR.rawData) continue;
    parts.push(bytes.subarray(t.tagStart, t.end));
  }
  const raw = rawBytes(values, info.dataType);
  parts.push(header(TENSOR.rawData, raw.length), raw);
  return parts;
}

const size = (parts: Uint8Array[]): number => parts.reduce((n, p) => n + p.length, 0);

/**
 * A copy of the model with the named initializers' values replaced (same dims and element type). Untouched fields
 * are copied byte for byte; only the graph's and the updated tensors' lengths are written anew.
 */
export function rewriteInitializers(bytes: Uint8Array, index: InitializerIndex, updates: ReadonlyMap<string, Float32Array>, label: string): Uint8Array {
  for (const [name, values] of updates) {
    const info = index.byName.get(name);
    if (!info) throw unsupported(label, `has no initializer "${name}" to update`);
    const count = info.dims.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw unsupported(label, `initializer "${name}" holds ${count} values; the update has ${values.length}`);
    if (info.external) throw unsupported(label, `initializer "${name}" keeps its data outside the file (external data); styles need the transformer's weights inside model.onnx`);
  }
  const byStart = new Map([...updates].map(([name, values]) => [index.byName.get(name)!.start, { info: index.byName.get(name)!, values }]));
  const model: Uint8Array[] = [];
  for (const g of fields(bytes, 0, bytes.length)) {
    if (g.number !== MODEL_GRAPH || g.wire !== WIRE.len) {
      model.push(bytes.subarray(g.tagStart, g.end));
      continue;
    }
    const graph: Uint8Array[] = [];
    for (const f of fields(bytes, g.start, g.end)) {
      const update = f.number === GRAPH_INITIALIZER && f.wire === WIRE.len ? byStart.get(f.start) : undefined;
      if (!update) {
        graph.push(bytes.subarray(f.tagStart, f.end));
        continue;
      }
      const tensor = encodeTensor(bytes, update.info, update.values);
      graph.push(header(GRAPH_INITIALIZER, size(tensor)), ...tensor);
    }
    model.push(header(MODEL_GRAPH, size(graph)), ...graph);
  }
  const out = new Uint8Array(size(model));
  let offset = 0;
  for (const p of model) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
