// Exact conversions between float32 and the 16-bit float formats a model's inputs and outputs may use (Wan2.x
// exports are fp16 or bf16). The pipeline computes in float32 everywhere; only the onnxruntime boundary
// (backend/onnx.ts) sees 16-bit tensors, which onnxruntime-node takes and gives as Uint16Array bit patterns.
// float32 → 16 bits rounds to nearest, ties to even (what numpy, PyTorch and onnxruntime's Cast do), so a value
// the daemon feeds is the value the export would have fed; 16 bits → float32 is exact (every half is a float32).
// bf16 is here although onnxruntime-node 1.30 cannot create a session with bf16 inputs or outputs at all
// ("Unsupported data type: 16"): the package loader refuses such graphs with a clear message, and these converters
// are what the boundary will use once the binding takes bf16.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of `value`, rounded to nearest even; overflow gives ±Infinity, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf, or a quiet NaN
  const e = exp - 127 + 15; // the exponent re-biased for binary16
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // Subnormal half (or zero): the implicit 1 joins the mantissa, shifted right by 1 − e more places.
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const full = mant | 0x800000;
    const shift = 14 - e; // 24-bit significand down to the subnormal's 10 bits
    const kept = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    const rounded = rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
    return sign | rounded; // a carry into bit 10 lands on the smallest normal, which is right
  }
  const kept = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa increments the exponent, and out of the largest finite value gives Infinity: both right.
  const rounded = rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1) ? kept + 1 : kept;
  return sign | rounded;
}

/** The float32 value of binary16 bits (exact). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** bfloat16 bits of `value` (the top half of its float32), rounded to nearest even; NaN stays a quiet NaN. */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const rest = x & 0xffff;
  const kept = x >>> 16;
  const rounded = rest > 0x8000 || (rest === 0x8000 && (kept & 1) === 1) ? kept + 1 : kept;
  return rounded & 0xffff;
}

/** The float32 value of bfloat16 bits (exact: they are its top 16 bits). */
export function bfloat16BitsToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

export function toFloat16Array(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

export function fromFloat16Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToFloat32(bits[i]!);
  return out;
}

export function toBfloat16Array(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToBfloat16Bits(values[i]!);
  return out;
}

export function fromBfloat16Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bfloat16BitsToFloat32(bits[i]!);
  return out;
}
