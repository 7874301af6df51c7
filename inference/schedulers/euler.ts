// FlowMatchEulerDiscreteScheduler.step: x_{i+1} = x_i + (σ_{i+1} − σ_i)·v.
import { BaseScheduler } from './scheduler.ts';
import type { EulerPlan } from './config.ts';
import { flowMatchEulerSchedule } from './sigmas.ts';

export class EulerScheduler extends BaseScheduler {
  readonly name = 'euler' as const;

  constructor(plan: EulerPlan, steps: number) {
    super(steps, flowMatchEulerSchedule(steps, plan.numTrainTimesteps, plan.shift));
  }

  protected advance(i: number, velocity: Float32Array, x: Float32Array): Float64Array {
    const dt = this.sigmas[i + 1]! - this.sigmas[i]!;
    const next = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) next[j] = x[j]! + dt * velocity[j]!;
    return next;
  }
}
