// Errors of the inference daemon. Each carries a code (one class per code, in the manner of Bolt's ErrorCode);
// the RPC boundary maps codes to gRPC status codes, keeping the human message.
import { status } from '@grpc/grpc-js';

export const DaemonErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  ModelNotFound: 'MODEL_NOT_FOUND',
  ModelInvalid: 'MODEL_INVALID',
  QueueFull: 'QUEUE_FULL',
  Cancelled: 'CANCELLED',
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  Unauthenticated: 'UNAUTHENTICATED',
  ShuttingDown: 'SHUTTING_DOWN',
  WorkerCrashed: 'WORKER_CRASHED',
  ExecutionProviderUnavailable: 'EXECUTION_PROVIDER_UNAVAILABLE',
  InferenceFailed: 'INFERENCE_FAILED',
  EncodeFailed: 'ENCODE_FAILED',
} as const;
export type DaemonErrorCode = (typeof DaemonErrorCode)[keyof typeof DaemonErrorCode];

export abstract class DaemonError extends Error {
  abstract readonly code: DaemonErrorCode;
  abstract readonly grpcStatus: status;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends DaemonError {
  readonly code = DaemonErrorCode.InvalidArgument;
  readonly grpcStatus = status.INVALID_ARGUMENT;
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export class ModelNotFoundError extends DaemonError {
  readonly code = DaemonErrorCode.ModelNotFound;
  readonly grpcStatus = status.NOT_FOUND;
  constructor(name: string, known: readonly string[]) {
    super(`model "${name}" is not served here; known models: ${known.length ? known.join(', ') : '(none)'}`);
  }
}

export class ModelInvalidError extends DaemonError {
  readonly code = DaemonErrorCode.ModelInvalid;
  readonly grpcStatus = status.FAILED_PRECONDITION;
  constructor(readonly packageDir: string, problem: string, options?: { cause?: unknown }) {
    super(`model package ${packageDir} is not usable: ${problem}`, options);
  }
}

export class QueueFullError extends DaemonError {
  readonly code = DaemonErrorCode.QueueFull;
  readonly grpcStatus = status.RESOURCE_EXHAUSTED;
  constructor(message: string, readonly retryAfterMs: number) {
    super(`${message}; try again in about ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export class CancelledError extends DaemonError {
  readonly code = DaemonErrorCode.Cancelled;
  readonly grpcStatus = status.CANCELLED;
}

export class DeadlineExceededError extends DaemonError {
  readonly code = DaemonErrorCode.DeadlineExceeded;
  readonly grpcStatus = status.DEADLINE_EXCEEDED;
}

export class UnauthenticatedError extends DaemonError {
  readonly code = DaemonErrorCode.Unauthenticated;
  readonly grpcStatus = status.UNAUTHENTICATED;
}

export class ShuttingDownError extends DaemonError {
  readonly code = DaemonErrorCode.ShuttingDown;
  readonly grpcStatus = status.UNAVAILABLE;
}

export class WorkerCrashedError extends DaemonError {
  readonly code = DaemonErrorCode.WorkerCrashed;
  readonly grpcStatus = status.INTERNAL;
}

export class ExecutionProviderUnavailableError extends DaemonError {
  readonly code = DaemonErrorCode.ExecutionProviderUnavailable;
  readonly grpcStatus = status.FAILED_PRECONDITION;
}

export class InferenceFailedError extends DaemonError {
  readonly code = DaemonErrorCode.InferenceFailed;
  readonly grpcStatus = status.INTERNAL;
}

export class EncodeFailedError extends DaemonError {
  readonly code = DaemonErrorCode.EncodeFailed;
  readonly grpcStatus = status.INTERNAL;
}

/** Any thrown value as a DaemonError, so that every failure reaches the requester with a status and a message. */
export function asDaemonError(err: unknown, fallback: (message: string) => DaemonError = (m) => new InferenceFailedError(m)): DaemonError {
  if (err instanceof DaemonError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = fallback(message);
  if (err instanceof Error && err.stack) wrapped.stack = err.stack;
  return wrapped;
}
