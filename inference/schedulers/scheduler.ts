// The per-job scheduler contract and the bookkeeping every solver shares (call order, tensor lengths, x0 estimate).
import type { SchedulerName } from './config.ts';
import type { Schedule } from './sigmas.ts';
import { StepLengthMismatchError, StepOutOfOrderError } from './errors.ts';

export interface StepResult {
  /** The sample at sigma_{i+1}. (Typed with its concrete buffer so it can replace a `Float32Array.from(...)` value.) */
  readonly next: Float32Array<ArrayBuffer>;
  /** x − sigma_i·v: the model's current guess of the clean latent, for previews. */
  readonly x0: Float32Array<ArrayBuffer>;
}

export interface Scheduler {
  readonly name: SchedulerName;
  readonly steps: number;
  /** Length steps + 1, decreasing, the last is 0. */
  readonly sigmas: Float64Array;
  /** Length steps: the `timestep` input of the denoiser at each step (diffusers values, see sigmas.ts). */
  readonly timesteps: Float64Array;
  /**
   * One solver step. `velocity` is the (guided) flow prediction v = noise − x0 at step i for sample x.
   * Steps must come in order 0, 1, …, steps − 1 (multistep solvers keep history). Does not mutate inputs.
   */
  step(i: number, velocity: Float32Array, x: Float32Array): StepResult;
}

export abstract class BaseScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  readonly sigmas: Float64Array;
  readonly timesteps: Float64Array;
  private nextIndex = 0;
  private length = -1;

  constructor(
    readonly steps: number,
    schedule: Schedule,
  ) {
    this.sigmas = schedule.sigmas;
    this.timesteps = schedule.timesteps;
  }

  step(i: number, velocity: Float32Array, x: Float32Array): StepResult {
    if (i !== this.nextIndex || i >= this.steps) {
      const expected = this.nextIndex < this.steps ? `step ${this.nextIndex}` : `no more steps (all ${this.steps} done)`;
      throw new StepOutOfOrderError(`${this.name} scheduler: step(${i}) called, expected ${expected}; steps run 0…${this.steps - 1} in order`);
    }
    if (velocity.length !== x.length || (this.length >= 0 && x.length !== this.length)) {
      const first = this.length >= 0 ? ` (first step had ${this.length})` : '';
      throw new StepLengthMismatchError(`${this.name} scheduler: velocity has ${velocity.length} values and sample ${x.length}${first}; they must match`);
    }
    this.length = x.length;
    const sigma = this.sigmas[i]!;
    const x0 = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) x0[j] = x[j]! - sigma * velocity[j]!;
    const next = this.advance(i, velocity, x, x0);
    this.nextIndex++;
    return { next: new Float32Array(next), x0: new Float32Array(x0) };
  }

  /** Solver update from sigma_i to sigma_{i+1}; `x0` is the data prediction at step i (the subclass may keep it). */
  protected abstract advance(i: number, velocity: Float32Array, x: Float32Array, x0: Float64Array): Float64Array;
}

/** λ = log(α/σ) with the flow parameterisation α = 1 − σ; +∞ at σ = 0. */
export function flowLambda(sigma: number): number {
  return Math.log(1 - sigma) - Math.log(sigma);
}
