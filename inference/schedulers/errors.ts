// Error codes and classes of the schedulers. Config errors surface at model load / job start, step errors are
// programming errors in the caller (the job loop); both are CodedErrors (shared/errors.ts) with a stable UPPER_SNAKE
// code, so callers branch on the code, never on the message.
import { CodedError } from '../../shared/errors.ts';

export const SchedulerErrorCode = {
  /** `_class_name` is missing or names a scheduler we do not implement. */
  UnknownClass: 'SCHEDULER_UNKNOWN_CLASS',
  /** A key holds a value of the wrong type or outside its allowed range. */
  InvalidValue: 'SCHEDULER_INVALID_VALUE',
  /** A key asks for a diffusers feature this runtime does not implement (dynamic shifting, karras sigmas, ...). */
  UnsupportedOption: 'SCHEDULER_UNSUPPORTED_OPTION',
  /** The requested number of inference steps is not a positive integer in range. */
  InvalidSteps: 'SCHEDULER_INVALID_STEPS',
  /** The override names no known solver. */
  UnknownSolver: 'SCHEDULER_UNKNOWN_SOLVER',
  /** `step(i, ...)` was called out of order: multistep solvers keep history and must see 0, 1, 2, ... */
  StepOutOfOrder: 'SCHEDULER_STEP_OUT_OF_ORDER',
  /** Velocity and sample lengths differ, or differ from the length seen on the first step. */
  LengthMismatch: 'SCHEDULER_LENGTH_MISMATCH',
} as const;
export type SchedulerErrorCode = (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];

export abstract class SchedulerError extends CodedError<SchedulerErrorCode> {}

/** Anything wrong with scheduler_config.json, the step count or the override. `key` names the offending key. */
export abstract class SchedulerConfigError extends SchedulerError {
  constructor(
    code: SchedulerErrorCode,
    message: string,
    readonly key: string | undefined,
  ) {
    super(code, message);
  }
}

export class UnknownSchedulerClassError extends SchedulerConfigError {
  constructor(message: string, key: string | undefined) {
    super(SchedulerErrorCode.UnknownClass, message, key);
  }
}

export class InvalidSchedulerValueError extends SchedulerConfigError {
  constructor(message: string, key: string | undefined) {
    super(SchedulerErrorCode.InvalidValue, message, key);
  }
}

export class UnsupportedSchedulerOptionError extends SchedulerConfigError {
  constructor(message: string, key: string | undefined) {
    super(SchedulerErrorCode.UnsupportedOption, message, key);
  }
}

export class InvalidStepsError extends SchedulerConfigError {
  constructor(message: string, key: string | undefined) {
    super(SchedulerErrorCode.InvalidSteps, message, key);
  }
}

export class UnknownSolverError extends SchedulerConfigError {
  constructor(message: string, key: string | undefined) {
    super(SchedulerErrorCode.UnknownSolver, message, key);
  }
}

/** Misuse of a scheduler during a job. */
export abstract class SchedulerStepError extends SchedulerError {}

export class StepOutOfOrderError extends SchedulerStepError {
  constructor(message: string) {
    super(SchedulerErrorCode.StepOutOfOrder, message);
  }
}

export class StepLengthMismatchError extends SchedulerStepError {
  constructor(message: string) {
    super(SchedulerErrorCode.LengthMismatch, message);
  }
}
