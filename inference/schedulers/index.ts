// Flow-matching samplers for the denoising loop. One Sampler per job (it holds multistep history); they are cheap
// to create, and the velocity computation of many jobs can be batched outside while each job steps its own sampler.
import { parseSchedulerConfig, type SchedulerName, type SchedulerPlan } from './config.ts';
import { InvalidStepsError } from './errors.ts';
import { EulerSampler } from './euler.ts';
import { UniPcSampler } from './unipc.ts';
import { DpmSolverSampler } from './dpm.ts';
import type { Sampler } from './sampler.ts';

export { SCHEDULER_NAMES, defaultSchedulerName, parseSchedulerConfig } from './config.ts';
export type { SchedulerName, SchedulerPlan, EulerPlan, UniPcPlan, DpmPlan } from './config.ts';
export type { Sampler, StepResult } from './sampler.ts';
export * from './errors.ts';

/** Upper bound on steps: far above any useful count, low enough that a typo cannot allocate a huge schedule. */
export const MAX_STEPS = 10_000;

/**
 * Parses scheduler/scheduler_config.json (diffusers format; the parsed object or its text) and makes a fresh sampler
 * for one job. `override` picks another solver, reusing the config's shift (`shift` or `flow_shift`) and
 * num_train_timesteps with that solver's diffusers defaults. Throws a SchedulerConfigError subclass (with `code` and
 * `key`) for an unknown `_class_name`, bad or unsupported values, or a bad step count.
 */
export function createSampler(configJson: unknown, steps: number, override?: SchedulerName): Sampler {
  checkSteps(steps);
  return samplerFromPlan(parseSchedulerConfig(configJson, override), steps);
}

/** For callers that parse the config once per model (parseSchedulerConfig) and create samplers per job. */
export function samplerFromPlan(plan: SchedulerPlan, steps: number): Sampler {
  checkSteps(steps);
  switch (plan.name) {
    case 'euler':
      return new EulerSampler(plan, steps);
    case 'unipc':
      return new UniPcSampler(plan, steps);
    case 'dpm++':
      return new DpmSolverSampler(plan, steps);
  }
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    throw new InvalidStepsError(`steps is ${String(steps)}; allowed: an integer from 1 to ${MAX_STEPS}`, 'steps');
  }
}
