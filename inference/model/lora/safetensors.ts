// A bounded reader of the safetensors format (what PEFT writes adapter_model.safetensors in), without a package:
// 8 bytes of little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {string: string}}, then the tensors' little-endian bytes, offsets relative to the data's start.
// Adapters come from packages people copy around, so the header length is checked against a bound and the file's
// size before anything is allocated, and every tensor must lie inside the data; each refusal names the file.
// Tensors come back as float32 (F16 and BF16 widened exactly): the merge computes in float32/float64.
import { readFile, stat } from 'node:fs/promises';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../../backend/half-float.ts';
import { LoraError, LoraErrorCode } from './errors.ts';

export interface SafetensorsLimits {
  /** Largest JSON header accepted, bytes. Default 1 MiB: an adapter of a few hundred tensors needs tens of KiB. */
  maxHeaderBytes?: number;
  /** Largest file accepted, bytes. Default 512 MiB: a LoRA is about 1% of a model's weights. */
  maxFileBytes?: number;
}

export const SAFETENSORS_LIMIT_DEFAULTS = { maxHeaderBytes: 1 << 20, maxFileBytes: 512 * 1024 * 1024 } satisfies Required<SafetensorsLimits>;

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';
const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface Tensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** The values widened to float32, row-major. */
  values: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Reads `file` (named `label` in messages, e.g. "loras/ink/adapter_model.safetensors"); its size is checked first. */
export async function readSafetensors(file: string, label: string, limits: SafetensorsLimits = {}): Promise<SafetensorsFile> {
  const { maxFileBytes } = { ...SAFETENSORS_LIMIT_DEFAULTS, ...limits };
  const size = (await stat(file)).size;
  if (size > maxFileBytes) throw new LoraError(LoraErrorCode.SafetensorsTooLarge, label, `is ${size} bytes; at most ${maxFileBytes} allowed for an adapter`);
  return parseSafetensors(await readFile(file), label, limits);
}

/** Parses a whole safetensors file held in memory (tests, and callers that already read it). */
export function parseSafetensors(bytes: Uint8Array, label: string, limits: SafetensorsLimits = {}): SafetensorsFile {
  const { maxHeaderBytes } = { ...SAFETENSORS_LIMIT_DEFAULTS, ...limits };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8) throw new LoraError(LoraErrorCode.SafetensorsMalformed, label, `is ${buf.length} bytes, shorter than the 8-byte header length safetensors starts with`);
  const headerLength = buf.readBigUInt64LE(0);
  if (headerLength > BigInt(maxHeaderBytes)) throw new LoraError(LoraErrorCode.SafetensorsTooLarge, label, `says its JSON header is ${headerLength} bytes; at most ${maxHeaderBytes} allowed`);
  const n = Number(headerLength);
  if (8 + n > buf.length) throw new LoraError(LoraErrorCode.SafetensorsMalformed, label, `says its JSON header is ${n} bytes but the file has only ${buf.length - 8} after the length (cut short?)`);
  return parseSafetensorsBody(buf.subarray(8, 8 + n), buf.subarray(8 + n), label);
}

function parseSafetensorsBody(headerBytes: Buffer, data: Buffer, label: string): SafetensorsFile {
  const bad = (problem: string) => new LoraError(LoraErrorCode.SafetensorsMalformed, label, problem);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch (err) {
    throw bad(`its header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('its header is not a JSON object of tensors');
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) throw bad('"__metadata__" must map strings to strings');
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof e !== 'object' || e === null) throw bad(`tensor "${name}" is not an object with dtype, shape and data_offsets`);
    if (typeof e.dtype !== 'string') throw bad(`tensor "${name}" has no dtype`);
    if (!(e.dtype in BYTES)) throw new LoraError(LoraErrorCode.SafetensorsDtype, label, `tensor "${name}" is ${e.dtype}; adapters must be F32, F16 or BF16`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) throw bad(`tensor "${name}" has shape ${JSON.stringify(e.shape)}; expected a list of non-negative integers`);
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)) throw bad(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > data.length) throw bad(`tensor "${name}" reads bytes ${begin}..${end} of a data section of ${data.length} bytes`);
    if (end - begin !== count * BYTES[dtype]) throw bad(`tensor "${name}" holds ${end - begin} bytes; ${dtype} [${shape.join(', ')}] needs ${count * BYTES[dtype]}`);
    tensors.set(name, { dtype, shape, values: widen(data.subarray(begin, end), dtype, count) });
  }
  return { tensors, metadata };
}

function widen(bytes: Buffer, dtype: SafetensorsDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(bytes.readUInt16LE(i * 2));
  else for (let i = 0; i < count; i++) out[i] = bfloat16BitsToFloat32(bytes.readUInt16LE(i * 2));
  return out;
}
