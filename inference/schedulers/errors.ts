// Error codes and classes of the schedulers. Config errors surface at model load / job start, step errors are
// programming errors in the caller (the job loop), both carry a stable code so the daemon can map them to gRPC.

export const SchedulerErrorCode = {
  /** `_class_name` is missing or names a scheduler we do not implement. */
  UnknownClass: 'scheduler_unknown_class',
  /** A key holds a value of the wrong type or outside its allowed range. */
  InvalidValue: 'scheduler_invalid_value',
  /** A key asks for a diffusers feature this runtime does not implement (dynamic shifting, karras sigmas, ...). */
  UnsupportedOption: 'scheduler_unsupported_option',
  /** The requested number of inference steps is not a positive integer in range. */
  InvalidSteps: 'scheduler_invalid_steps',
  /** The override names no known solver. */
  UnknownSolver: 'scheduler_unknown_solver',
  /** `step(i, ...)` was called out of order: multistep solvers keep history and must see 0, 1, 2, ... */
  StepOutOfOrder: 'scheduler_step_out_of_order',
  /** Velocity and sample lengths differ, or differ from the length seen on the first step. */
  LengthMismatch: 'scheduler_length_mismatch',
} as const;
export type SchedulerErrorCode = (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];

export abstract class SchedulerError extends Error {
  abstract readonly code: SchedulerErrorCode;
}

/** Anything wrong with scheduler_config.json, the step count or the override. `key` names the offending key. */
export abstract class SchedulerConfigError extends SchedulerError {
  constructor(
    message: string,
    readonly key: string | undefined,
  ) {
    super(message);
  }
}

export class UnknownSchedulerClassError extends SchedulerConfigError {
  override readonly name = 'UnknownSchedulerClassError';
  readonly code = SchedulerErrorCode.UnknownClass;
}

export class InvalidSchedulerValueError extends SchedulerConfigError {
  override readonly name = 'InvalidSchedulerValueError';
  readonly code = SchedulerErrorCode.InvalidValue;
}

export class UnsupportedSchedulerOptionError extends SchedulerConfigError {
  override readonly name = 'UnsupportedSchedulerOptionError';
  readonly code = SchedulerErrorCode.UnsupportedOption;
}

export class InvalidStepsError extends SchedulerConfigError {
  override readonly name = 'InvalidStepsError';
  readonly code = SchedulerErrorCode.InvalidSteps;
}

export class UnknownSolverError extends SchedulerConfigError {
  override readonly name = 'UnknownSolverError';
  readonly code = SchedulerErrorCode.UnknownSolver;
}

/** Misuse of a sampler during a job. */
export abstract class SchedulerStepError extends SchedulerError {}

export class StepOutOfOrderError extends SchedulerStepError {
  override readonly name = 'StepOutOfOrderError';
  readonly code = SchedulerErrorCode.StepOutOfOrder;
}

export class StepLengthMismatchError extends SchedulerStepError {
  override readonly name = 'StepLengthMismatchError';
  readonly code = SchedulerErrorCode.LengthMismatch;
}
