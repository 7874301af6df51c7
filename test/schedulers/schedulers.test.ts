// The schedulers against independent numpy references (test/schedulers/reference/scheduler_reference.py), hand-derived values,
// closed-form flows, and the errors a bad config or a misused scheduler produces.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createScheduler,
  defaultSchedulerName,
  SCHEDULER_NAMES,
  SchedulerConfigError,
  SchedulerErrorCode,
  SchedulerStepError,
  type Scheduler,
  type SchedulerName,
} from '../../inference/schedulers/index.ts';
import { shiftSigma } from '../../inference/schedulers/sigmas.ts';

interface ReferenceCase {
  config: Record<string, unknown>;
  override: SchedulerName | null;
  solver: SchedulerName;
  steps: number;
  sigmas: number[];
  timesteps: number[];
  samples: number[][];
  x0: number[][];
}
interface Reference {
  toy: { M: number[][]; c: number[]; d: number[]; x: number[] };
  hand_checks: {
    shift_formula: { shift: number; sigma: number; expected: number }[];
    euler_one_step: { x: number[]; v: number[]; expected: number[] };
    euler_double_shift: { shift: number; steps: number; sigmas: number[]; timesteps: number[] };
    flow_sigmas_two_steps: { shift: number; steps: number; sigmas: number[]; timesteps: number[] };
    two_step_multistep: { x: number[]; v0: number[]; v1: number[]; x1: number[]; final: number[] };
  };
  cases: ReferenceCase[];
}

const reference = JSON.parse(readFileSync(new URL('./reference/schedulers.json', import.meta.url), 'utf8')) as Reference;

const EULER = { _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 3 };
const UNIPC = { _class_name: 'UniPCMultistepScheduler', use_flow_sigmas: true, prediction_type: 'flow_prediction', flow_shift: 3 };
const DPM = { _class_name: 'DPMSolverMultistepScheduler', use_flow_sigmas: true, prediction_type: 'flow_prediction', flow_shift: 3 };

/** |a − b| ≤ rel·max(1, |b|) element-wise, reporting the worst index. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j]!;
    const b = expected[j]!;
    const tol = rel * Math.max(1, Math.abs(b));
    if (!(Math.abs(a - b) <= tol)) expect.fail(`${what}[${j}]: got ${a}, expected ${b} (tolerance ${tol})`);
  }
}

/** Runs the scheduler over the whole schedule, with `velocity(x, sigma)` as the (float32) model. */
function integrate(scheduler: Scheduler, start: Float32Array, velocity: (x: Float32Array, sigma: number) => Float32Array) {
  let x = start;
  const samples = [x];
  const x0s: Float32Array[] = [];
  for (let i = 0; i < scheduler.steps; i++) {
    const { next, x0 } = scheduler.step(i, velocity(x, scheduler.sigmas[i]!), x);
    samples.push(next);
    x0s.push(x0);
    x = next;
  }
  return { samples, x0s, final: x };
}

function toyVelocity(x: Float32Array, sigma: number): Float32Array {
  const { M, c, d } = reference.toy;
  return Float32Array.from(M, (row, r) => row.reduce((s, m, k) => s + m * x[k]!, 0) + sigma * c[r]! + d[r]!);
}

describe('reference schedules and trajectories (numpy, test/schedulers/reference/schedulers.json)', () => {
  it('covers every solver, shift 1/3/5 and steps 1…50', () => {
    const seen = new Set(reference.cases.map((c) => `${c.solver}:${String(c.config['shift'] ?? c.config['flow_shift'])}:${c.steps}`));
    for (const solver of SCHEDULER_NAMES) for (const shift of [1, 3, 5]) for (const steps of [1, 2, 5, 10, 20, 50]) {
      expect(seen.has(`${solver}:${shift}:${steps}`), `${solver} shift ${shift} steps ${steps}`).toBe(true);
    }
  });

  for (const c of reference.cases) {
    const shown = Object.entries(c.config).filter(([k]) => !['_class_name', 'use_flow_sigmas', 'prediction_type', 'final_sigmas_type', 'use_dynamic_shifting'].includes(k));
    const label = `${c.config['_class_name'] as string}${c.override ? ` → ${c.override}` : ''} steps=${c.steps} ${JSON.stringify(Object.fromEntries(shown))}`;
    it(label, () => {
      const scheduler = createScheduler(c.config, c.steps, c.override ?? undefined);
      expect(scheduler.name).toBe(c.solver);
      expect(scheduler.steps).toBe(c.steps);
      expectClose(scheduler.sigmas, c.sigmas, 1e-7, 'sigmas');
      expectClose(scheduler.timesteps, c.timesteps, 1e-7, 'timesteps');
      const run = integrate(scheduler, Float32Array.from(reference.toy.x), toyVelocity);
      run.samples.forEach((s, i) => expectClose(s, c.samples[i]!, 1e-6, `sample ${i}`));
      run.x0s.forEach((s, i) => expectClose(s, c.x0[i]!, 1e-6, `x0 ${i}`));
    });
  }
});

describe('hand-derived values', () => {
  const hand = reference.hand_checks;

  it('shift formula at sigma 0.5', () => {
    for (const h of hand.shift_formula) expect(shiftSigma(h.sigma, h.shift)).toBeCloseTo(h.expected, 15);
    expect(hand.shift_formula.map((h) => h.expected)).toEqual([0.75, 2.5 / 3]);
  });

  it('Euler with one step is x − v', () => {
    const scheduler = createScheduler({ _class_name: 'FlowMatchEulerDiscreteScheduler' }, 1);
    expect(Array.from(scheduler.sigmas)).toEqual([1, 0]);
    const { next, x0 } = scheduler.step(0, Float32Array.from(hand.euler_one_step.v), Float32Array.from(hand.euler_one_step.x));
    expect(Array.from(next)).toEqual(hand.euler_one_step.expected);
    expect(Array.from(x0)).toEqual(hand.euler_one_step.expected); // σ0 = 1: the x0 estimate is the same point
  });

  it('Euler shifts sigma_min twice, as diffusers does (9/1008 for shift 3, N 1000)', () => {
    const h = hand.euler_double_shift;
    const scheduler = createScheduler({ ...EULER, shift: h.shift }, h.steps);
    expectClose(scheduler.sigmas, h.sigmas, 1e-7, 'sigmas');
    expectClose(scheduler.timesteps, h.timesteps, 1e-7, 'timesteps');
  });

  it('flow sigmas for two steps: [0.999, 0.4995, 0], integer timesteps [999, 499]', () => {
    const h = hand.flow_sigmas_two_steps;
    for (const config of [UNIPC, DPM]) {
      const scheduler = createScheduler({ ...config, flow_shift: h.shift }, h.steps);
      expectClose(scheduler.sigmas, h.sigmas, 1e-7, 'sigmas');
      expect(Array.from(scheduler.timesteps)).toEqual(h.timesteps);
    }
  });

  it('two-step UniPC and DPM++: an Euler step, then the data prediction', () => {
    const h = hand.two_step_multistep;
    for (const config of [UNIPC, DPM]) {
      const scheduler = createScheduler({ ...config, flow_shift: 1 }, 2);
      const first = scheduler.step(0, Float32Array.from(h.v0), Float32Array.from(h.x));
      expectClose(first.next, h.x1, 1e-6, `${config._class_name} x1`);
      const second = scheduler.step(1, Float32Array.from(h.v1), first.next);
      expectClose(second.next, h.final, 1e-6, `${config._class_name} final`);
    }
  });
});

describe('closed-form flows', () => {
  const data = Float32Array.from([0.5, -1, 2, 0.25]);
  const noise = Float32Array.from([1, 0.3, -0.7, -2]);

  it('a straight flow from a known x0 is recovered by every solver, shift and step count', () => {
    for (const solver of SCHEDULER_NAMES) for (const shift of [1, 3, 5]) for (const steps of [1, 2, 3, 7, 25]) {
      const scheduler = createScheduler({ ...EULER, shift }, steps, solver);
      const s0 = scheduler.sigmas[0]!;
      const start = Float32Array.from(data, (v, j) => (1 - s0) * v + s0 * noise[j]!);
      // The exact velocity of x_σ = (1 − σ)·x0 + σ·n written as a field: v = (x − x0)/σ.
      const { final } = integrate(scheduler, start, (x, sigma) => Float32Array.from(x, (xv, j) => (xv - data[j]!) / sigma));
      expectClose(final, data, 2e-6, `${solver} shift ${shift} steps ${steps}`);
    }
  });

  // Gaussian data x0 ~ N(μ, s²) per coordinate: E[x0 | x_σ] is linear in x, so the exact velocity field is known and
  // the ODE solution from noise z is x(σ) = (1 − σ)μ + √((1 − σ)²s² + σ²)·z. The paths are curved.
  const mu = [0.5, -1, 2, 0.3];
  const sd = [0.5, 0.8, 1.5, 2];
  const z = [1.2, -0.7, 0.4, -1.6];
  const radius = (sigma: number, j: number) => Math.sqrt((1 - sigma) ** 2 * sd[j]! ** 2 + sigma ** 2);
  const exactAt = (sigma: number) => Float32Array.from(mu, (m, j) => (1 - sigma) * m + radius(sigma, j) * z[j]!);
  const gaussianVelocity = (x: Float32Array, sigma: number) =>
    Float32Array.from(x, (xv, j) => {
      const x0 = mu[j]! + ((1 - sigma) * sd[j]! ** 2 * (xv - (1 - sigma) * mu[j]!)) / radius(sigma, j) ** 2;
      return (xv - x0) / sigma;
    });
  // Every solver's last step (to σ = 0) returns the x0 estimate at σ_{N−1}, so the integration error is measured at
  // the sample before it, against the exact path at that sigma.
  const integrationError = (solver: SchedulerName, steps: number, shift: number) => {
    const scheduler = createScheduler({ ...EULER, shift }, steps, solver);
    const { samples } = integrate(scheduler, exactAt(scheduler.sigmas[0]!), gaussianVelocity);
    const exact = exactAt(scheduler.sigmas[steps - 1]!);
    return Math.max(...Array.from(samples[steps - 1]!, (v, j) => Math.abs(v - exact[j]!)));
  };

  it('on a curved flow the multistep solvers land much closer than Euler', () => {
    for (const shift of [1, 3, 5]) for (const steps of [8, 16, 32]) {
      const euler = integrationError('euler', steps, shift);
      for (const solver of ['unipc', 'dpm++'] as const) {
        expect(integrationError(solver, steps, shift), `${solver} vs euler (${euler}), shift ${shift}, ${steps} steps`).toBeLessThan(euler / 4);
      }
    }
  });

  it('on a curved flow every solver converges as steps grow', () => {
    for (const solver of SCHEDULER_NAMES) for (const shift of [1, 3]) {
      expect(integrationError(solver, 64, shift), `${solver} shift ${shift}`).toBeLessThan(integrationError(solver, 16, shift) / 3);
    }
  });

  it('the final step returns the x0 estimate', () => {
    for (const solver of SCHEDULER_NAMES) {
      const scheduler = createScheduler(UNIPC, 6, solver);
      const { samples, x0s } = integrate(scheduler, exactAt(scheduler.sigmas[0]!), gaussianVelocity);
      expectClose(samples[6]!, x0s[5]!, 1e-6, solver);
    }
  });
});

describe('scheduler behaviour', () => {
  it('does not mutate its inputs and returns fresh arrays', () => {
    for (const solver of SCHEDULER_NAMES) {
      const scheduler = createScheduler(EULER, 4, solver);
      const x = Float32Array.from([1, 2, 3]);
      const v = Float32Array.from([0.1, 0.2, 0.3]);
      for (let i = 0; i < 4; i++) {
        const { next, x0 } = scheduler.step(i, v, x);
        expect(Array.from(x)).toEqual([1, 2, 3]);
        expect(Array.from(v)).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
        expect(next).not.toBe(x);
        expect(x0).not.toBe(x);
      }
    }
  });

  it('schedulers of interleaved jobs do not share state (as when a daemon batches velocities)', () => {
    for (const solver of SCHEDULER_NAMES) {
      const alone = integrate(createScheduler(UNIPC, 12, solver), Float32Array.from(reference.toy.x), toyVelocity).final;
      const a = createScheduler(UNIPC, 12, solver);
      const b = createScheduler(UNIPC, 7, solver);
      let xa: Float32Array = Float32Array.from(reference.toy.x);
      let xb: Float32Array = Float32Array.from([3, -3, 1, 0]);
      for (let i = 0; i < 12; i++) {
        xa = a.step(i, toyVelocity(xa, a.sigmas[i]!), xa).next;
        if (i < 7) xb = b.step(i, toyVelocity(xb, b.sigmas[i]!), xb).next;
      }
      expect(Array.from(xa)).toEqual(Array.from(alone));
    }
  });

  it('reports the configured solver', () => {
    expect(defaultSchedulerName(EULER)).toBe('euler');
    expect(defaultSchedulerName(UNIPC)).toBe('unipc');
    expect(defaultSchedulerName(JSON.stringify(DPM))).toBe('dpm++');
    expect(createScheduler(UNIPC, 3).name).toBe('unipc');
  });

  it('accepts a real Wan2.1-style config with unrelated diffusers keys', () => {
    const wan = {
      _class_name: 'UniPCMultistepScheduler', _diffusers_version: '0.33.0', beta_end: 0.02, beta_schedule: 'linear', beta_start: 0.0001,
      disable_corrector: [], dynamic_thresholding_ratio: 0.995, final_sigmas_type: 'zero', flow_shift: 3.0, lower_order_final: true,
      num_train_timesteps: 1000, predict_x0: true, prediction_type: 'flow_prediction', rescale_betas_zero_snr: false, sample_max_value: 1.0,
      solver_order: 2, solver_p: null, solver_type: 'bh2', steps_offset: 0, thresholding: false, timestep_spacing: 'linspace',
      trained_betas: null, use_beta_sigmas: false, use_exponential_sigmas: false, use_flow_sigmas: true, use_karras_sigmas: false,
    };
    const scheduler = createScheduler(wan, 50);
    expect(scheduler.timesteps[0]).toBe(999);
    expect(scheduler.sigmas[50]).toBe(0);
  });
});

describe('errors', () => {
  const configError = (fn: () => unknown): SchedulerConfigError => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(SchedulerConfigError);
      return err as SchedulerConfigError;
    }
    return expect.fail('expected a SchedulerConfigError');
  };

  it('unknown _class_name names the class and the supported ones', () => {
    const err = configError(() => createScheduler({ _class_name: 'DDIMScheduler' }, 10));
    expect(err.code).toBe(SchedulerErrorCode.UnknownClass);
    expect(err.key).toBe('_class_name');
    expect(err.message).toContain('DDIMScheduler');
    expect(err.message).toContain('FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, DPMSolverMultistepScheduler');
    expect(configError(() => defaultSchedulerName({})).code).toBe(SchedulerErrorCode.UnknownClass);
    expect(configError(() => createScheduler('not json', 10)).code).toBe(SchedulerErrorCode.InvalidValue);
    expect(configError(() => createScheduler([1], 10)).code).toBe(SchedulerErrorCode.InvalidValue);
  });

  it('use_dynamic_shifting: true is refused with the reason', () => {
    for (const config of [EULER, UNIPC, DPM]) {
      const err = configError(() => createScheduler({ ...config, use_dynamic_shifting: true }, 10));
      expect(err.code).toBe(SchedulerErrorCode.UnsupportedOption);
      expect(err.key).toBe('use_dynamic_shifting');
      expect(err.message).toMatch(/"use_dynamic_shifting" is true; allowed: false \(dynamic shifting/);
    }
  });

  it('steps must be an integer from 1 to 10000', () => {
    for (const steps of [0, -1, 1.5, Number.NaN, 10_001]) {
      const err = configError(() => createScheduler(EULER, steps));
      expect(err.code).toBe(SchedulerErrorCode.InvalidSteps);
      expect(err.key).toBe('steps');
      expect(err.message).toContain('allowed: an integer from 1 to 10000');
    }
  });

  it('bad values name the key and what is allowed', () => {
    const cases: [Record<string, unknown>, string, SchedulerErrorCode, string][] = [
      [{ ...EULER, shift: -2 }, 'shift', SchedulerErrorCode.InvalidValue, 'a positive finite number'],
      [{ ...EULER, shift: '3' }, 'shift', SchedulerErrorCode.InvalidValue, 'a positive finite number'],
      [{ ...EULER, num_train_timesteps: 10.5 }, 'num_train_timesteps', SchedulerErrorCode.InvalidValue, 'an integer from 1'],
      [{ ...EULER, use_karras_sigmas: true }, 'use_karras_sigmas', SchedulerErrorCode.UnsupportedOption, 'allowed: false'],
      [{ ...UNIPC, use_flow_sigmas: undefined }, 'use_flow_sigmas', SchedulerErrorCode.UnsupportedOption, 'allowed: true'],
      [{ ...UNIPC, prediction_type: 'epsilon' }, 'prediction_type', SchedulerErrorCode.UnsupportedOption, 'allowed: "flow_prediction"'],
      [{ ...UNIPC, solver_order: 4 }, 'solver_order', SchedulerErrorCode.InvalidValue, '1, 2 or 3'],
      [{ ...UNIPC, solver_type: 'fast' }, 'solver_type', SchedulerErrorCode.InvalidValue, '"bh1" or "bh2"'],
      [{ ...UNIPC, lower_order_final: false }, 'lower_order_final', SchedulerErrorCode.UnsupportedOption, 'allowed: true'],
      [{ ...UNIPC, final_sigmas_type: 'sigma_min' }, 'final_sigmas_type', SchedulerErrorCode.UnsupportedOption, 'allowed: "zero"'],
      [{ ...DPM, algorithm_type: 'sde-dpmsolver++' }, 'algorithm_type', SchedulerErrorCode.UnsupportedOption, 'allowed: "dpmsolver++"'],
      [{ ...DPM, flow_shift: 0 }, 'flow_shift', SchedulerErrorCode.InvalidValue, 'a positive finite number'],
    ];
    for (const [config, key, code, allowed] of cases) {
      const err = configError(() => createScheduler(config, 10));
      expect({ key: err.key, code: err.code }, JSON.stringify(config)).toEqual({ key, code });
      expect(err.message).toContain(`"${key}"`);
      expect(err.message).toContain(allowed);
    }
  });

  it('an unknown override names the allowed solvers', () => {
    const err = configError(() => createScheduler(EULER, 10, 'heun' as SchedulerName));
    expect(err.code).toBe(SchedulerErrorCode.UnknownSolver);
    expect(err.message).toContain('euler, unipc, dpm++');
  });

  it('steps out of order and mismatched lengths are refused without corrupting the scheduler', () => {
    const stepError = (fn: () => unknown): SchedulerStepError => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(SchedulerStepError);
        return err as SchedulerStepError;
      }
      return expect.fail('expected a SchedulerStepError');
    };
    for (const solver of SCHEDULER_NAMES) {
      const clean = integrate(createScheduler(UNIPC, 3, solver), Float32Array.from(reference.toy.x), toyVelocity).samples;
      const scheduler = createScheduler(UNIPC, 3, solver);
      const x = Float32Array.from(reference.toy.x);
      const early = stepError(() => scheduler.step(1, x, x));
      expect(early.code).toBe(SchedulerErrorCode.StepOutOfOrder);
      expect(early.message).toContain('step(1) called, expected step 0');
      const short = stepError(() => scheduler.step(0, new Float32Array(3), x));
      expect(short.code).toBe(SchedulerErrorCode.LengthMismatch);
      expect(short.message).toContain('velocity has 3 values and sample 4');
      let current = x;
      for (let i = 0; i < 3; i++) {
        current = scheduler.step(i, toyVelocity(current, scheduler.sigmas[i]!), current).next;
        expect(Array.from(current), `${solver} step ${i}`).toEqual(Array.from(clean[i + 1]!));
        const resized = stepError(() => scheduler.step(i + 1, new Float32Array(5), new Float32Array(5)));
        expect(resized.code).toBe(i < 2 ? SchedulerErrorCode.LengthMismatch : SchedulerErrorCode.StepOutOfOrder);
      }
      expect(stepError(() => scheduler.step(3, x, x)).message).toContain('no more steps (all 3 done)');
    }
  });
});
