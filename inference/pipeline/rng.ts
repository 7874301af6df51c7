// Seeded standard-normal noise. The same seed gives the same latents on every machine (pure integer PRNG +
// Box–Muller in float64), which is what makes a clip reproducible from its seed.

/** splitmix32: tiny, fast, good enough statistical quality for diffusion noise. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function gaussianNoise(seed: number, length: number): Float32Array {
  const next = splitmix32(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    // (0, 1] keeps log() finite.
    const u1 = (next() + 1) / 4294967296;
    const u2 = next() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** A fresh random seed for requests that did not give one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
