// Flow-matching schedulers for the denoising loop (the diffusers sense of the word: the solver that steps a sample
// from one noise level to the next). One Scheduler per job (it holds multistep history); they are cheap to create,
// and the velocity computation of many jobs can be batched outside while each job steps its own scheduler.
import { parseSchedulerConfig, type SchedulerName, type SchedulerPlan } from './config.ts';
import { InvalidStepsError } from './errors.ts';
import { EulerScheduler } from './euler.ts';
import { UniPcScheduler } from './unipc.ts';
import { DpmSolverScheduler } from './dpm.ts';
import type { Scheduler } from './scheduler.ts';

export { SCHEDULER_NAMES, defaultSchedulerName, parseSchedulerConfig } from './config.ts';
export type { SchedulerName, SchedulerPlan, EulerPlan, UniPcPlan, DpmPlan } from './config.ts';
export type { Scheduler, StepResult } from './scheduler.ts';
export * from './errors.ts';

/** Upper bound on steps: far above any useful count, low enough that a typo cannot allocate a huge schedule. */
export const MAX_STEPS = 10_000;

/**
 * Parses scheduler/scheduler_config.json (diffusers format; the parsed object or its text) and makes a fresh scheduler
 * for one job. `override` picks another solver, reusing the config's shift (`shift` or `flow_shift`) and
 * num_train_timesteps with that solver's diffusers defaults. Throws a SchedulerConfigError subclass (with `code` and
 * `key`) for an unknown `_class_name`, bad or unsupported values, or a bad step count.
 */
export function createScheduler(configJson: unknown, steps: number, override?: SchedulerName): Scheduler {
  checkSteps(steps);
  return schedulerFromPlan(parseSchedulerConfig(configJson, override), steps);
}

/** For callers that parse the config once per model (parseSchedulerConfig) and create schedulers per job. */
export function schedulerFromPlan(plan: SchedulerPlan, steps: number): Scheduler {
  checkSteps(steps);
  switch (plan.name) {
    case 'euler':
      return new EulerScheduler(plan, steps);
    case 'unipc':
      return new UniPcScheduler(plan, steps);
    case 'dpm++':
      return new DpmSolverScheduler(plan, steps);
  }
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    throw new InvalidStepsError(`steps is ${String(steps)}; allowed: an integer from 1 to ${MAX_STEPS}`, 'steps');
  }
}
