// Sigma schedules of the diffusers flow-matching schedulers, reproduced operation by operation (including the points
// where diffusers rounds to float32) so that our schedules equal theirs bit for bit, not just approximately.

export interface Schedule {
  /** steps + 1 values, decreasing, the last is 0. Float32-rounded values, as diffusers stores them. */
  readonly sigmas: Float64Array;
  /** steps values handed to the denoiser as `timestep`. */
  readonly timesteps: Float64Array;
}

const f32 = Math.fround;

/** numpy.linspace(start, stop, num) with endpoint: i * step + start, the last element forced to `stop`. */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/** The timestep shift of SD3 / Wan: s' = shift·s / (1 + (shift − 1)·s). Pushes steps toward high noise for shift > 1. */
export function shiftSigma(sigma: number, shift: number): number {
  return (shift * sigma) / (1 + (shift - 1) * sigma);
}

/** Same formula evaluated in float32, as torch does on the float32 training schedule in the Euler constructor. */
function shiftSigmaF32(sigma: number, shift: number): number {
  const s = f32(shift);
  return f32(f32(s * sigma) / f32(1 + f32(f32(shift - 1) * sigma)));
}

/**
 * FlowMatchEulerDiscreteScheduler.set_timesteps (static shifting). The constructor builds the shifted float32
 * training sigmas (1/N … 1); set_timesteps spaces timesteps linearly between sigma_max·N and sigma_min·N and shifts
 * again. The end point sigma_min is therefore shifted twice: that is diffusers' behaviour and we keep it.
 */
export function flowMatchEulerSchedule(steps: number, numTrainTimesteps: number, shift: number): Schedule {
  const n = numTrainTimesteps;
  const sigmaMax = shiftSigmaF32(1, shift);
  const sigmaMin = shiftSigmaF32(f32(1 / n), shift);
  const raw = numpyLinspace(sigmaMax * n, sigmaMin * n, steps);
  const sigmas = new Float64Array(steps + 1);
  const timesteps = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    const sigma = f32(shiftSigma(raw[i]! / n, shift));
    sigmas[i] = sigma;
    timesteps[i] = f32(sigma * n);
  }
  sigmas[steps] = 0;
  return { sigmas, timesteps };
}

/**
 * `use_flow_sigmas` branch of UniPCMultistepScheduler / DPMSolverMultistepScheduler.set_timesteps:
 * alphas = linspace(1, 1/N, steps + 1), sigmas = flip(shift(1 − alphas))[:-1], timesteps = sigmas·N cast to int64
 * (truncation), sigmas stored as float32 with a terminal 0 (final_sigmas_type "zero").
 */
export function flowSigmasSchedule(steps: number, numTrainTimesteps: number, flowShift: number): Schedule {
  const n = numTrainTimesteps;
  const alphas = numpyLinspace(1, 1 / n, steps + 1);
  const sigmas = new Float64Array(steps + 1);
  const timesteps = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    // flip: position i of the flipped array is position steps − i of the original.
    const sigma = shiftSigma(1 - alphas[steps - i]!, flowShift);
    sigmas[i] = f32(sigma);
    timesteps[i] = Math.trunc(sigma * n);
  }
  sigmas[steps] = 0;
  return { sigmas, timesteps };
}
