// Errors of the inference daemon. Each carries a code (one class per code, in the manner of Bolt's ErrorCode);
// the RPC boundary maps codes to gRPC status codes, keeping the human message.
import { status } from '@grpc/grpc-js';
import path from 'node:path';
import { relativeToFolder } from '../shared/redact.ts';
import { excerpt } from './server/excerpt.ts';

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
  RequestIdTaken: 'REQUEST_ID_TAKEN',
  RequestIdReused: 'REQUEST_ID_REUSED',
  TooManyStreams: 'TOO_MANY_STREAMS',
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
    super(`model "${excerpt(name)}" is not served here; known models: ${known.length ? known.join(', ') : '(none)'}`);
  }
}

/**
 * A model package that cannot be served. The message, which clients read, names the model by name and files relative
 * to the package ("transformer/model.onnx"), never the server's folder; `detail` keeps the folder and the raw problem
 * for the daemon's log.
 */
export class ModelInvalidError extends DaemonError {
  readonly code = DaemonErrorCode.ModelInvalid;
  readonly grpcStatus = status.FAILED_PRECONDITION;
  /** The model's name: `options.name`, else the folder's name. */
  readonly model: string;
  /** The problem as first worded (it may hold absolute paths): for the log only. */
  readonly problem: string;
  constructor(readonly packageDir: string, problem: string, options?: { cause?: unknown; name?: string }) {
    const model = options?.name ?? path.basename(packageDir);
    super(`model "${model}" is not usable: ${relativeToFolder(problem, packageDir)}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.model = model;
    this.problem = problem;
  }

  /** The full text for the daemon's log: folder and raw problem. */
  get detail(): string {
    return `model package ${this.packageDir} ("${this.model}") is not usable: ${this.problem}`;
  }

  /** The same problem under the package's real name (errors raised before model_index.json was read use the folder's). */
  named(name: string): ModelInvalidError {
    return name === this.model ? this : new ModelInvalidError(this.packageDir, this.problem, { name, cause: this.cause });
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

/** A request_id already used by another requester (platform, server, user): its job is not theirs to see. */
export class RequestIdTakenError extends DaemonError {
  readonly code = DaemonErrorCode.RequestIdTaken;
  readonly grpcStatus = status.PERMISSION_DENIED;
  constructor(requestId: string) {
    super(`request_id "${excerpt(requestId)}" belongs to another requester; choose a new one`);
  }
}

/** The same requester sent a request_id again with other parameters: a retry must repeat the request exactly. */
export class RequestIdReusedError extends DaemonError {
  readonly code = DaemonErrorCode.RequestIdReused;
  readonly grpcStatus = status.ALREADY_EXISTS;
  constructor(requestId: string) {
    super(`request_id "${excerpt(requestId)}" was already used for a different request (other parameters); choose a new id, or resend the same parameters to follow the first one`);
  }
}

/** A Generate stream past the cap of streams per job or per client connection. */
export class TooManyStreamsError extends DaemonError {
  readonly code = DaemonErrorCode.TooManyStreams;
  readonly grpcStatus = status.RESOURCE_EXHAUSTED;
}

/** Any thrown value as a DaemonError, so that every failure reaches the requester with a status and a message. */
export function asDaemonError(err: unknown, fallback: (message: string) => DaemonError = (m) => new InferenceFailedError(m)): DaemonError {
  if (err instanceof DaemonError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = fallback(message);
  if (err instanceof Error && err.stack) wrapped.stack = err.stack;
  return wrapped;
}
