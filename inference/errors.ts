// Errors of the inference daemon. Each is a CodedError with one of the wire's DaemonErrorCodes (one class per code, in
// the manner of Bolt's ErrorCode). They carry no gRPC status: the pipeline, the worker and the media code know nothing
// of gRPC; the server's toServiceError sends each code with its status from the wire's one table
// (shared/wire/error-codes.ts), keeping the human message.
import path from 'node:path';
import { CodedError, type CodedErrorOptions } from '../shared/errors.ts';
import { relativeToFolder } from '../shared/redact.ts';
import { DaemonErrorCode, isDaemonErrorCode } from '../shared/wire/error-codes.ts';
import { promptRefusalMessage, type PromptPolicyField } from '../shared/wire/prompt-refusal.ts';
import { excerpt } from './excerpt.ts';

export { DaemonErrorCode } from '../shared/wire/error-codes.ts';

export abstract class DaemonError extends CodedError<DaemonErrorCode> {}

export class InvalidArgumentError extends DaemonError {
  constructor(readonly field: string, message: string) {
    super(DaemonErrorCode.InvalidArgument, `${field}: ${message}`);
  }
}

export class ModelNotFoundError extends DaemonError {
  constructor(name: string, known: readonly string[]) {
    super(DaemonErrorCode.ModelNotFound, `model "${excerpt(name)}" is not served here; known models: ${known.length ? known.join(', ') : '(none)'}`);
  }
}

/**
 * A model package that cannot be served. The message, which clients read, names the model by name and files relative
 * to the package ("transformer/model.onnx"), never the server's folder; `detail` keeps the folder and the raw problem
 * for the daemon's log.
 */
export class ModelInvalidError extends DaemonError {
  /** The model's name: `options.name`, else the folder's name. */
  readonly model: string;
  /** The problem as first worded (it may hold absolute paths): for the log only. */
  readonly problem: string;
  constructor(readonly packageDir: string, problem: string, options?: { cause?: unknown; name?: string }) {
    const model = options?.name ?? path.basename(packageDir);
    super(DaemonErrorCode.ModelInvalid, `model "${model}" is not usable: ${relativeToFolder(problem, packageDir)}`, { cause: options?.cause });
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
  constructor(message: string, readonly retryAfterMs: number) {
    super(DaemonErrorCode.QueueFull, `${message}; try again in about ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export class RequestCancelledError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.Cancelled, message, options);
  }
}

export class DeadlineExceededError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.DeadlineExceeded, message, options);
  }
}

export class UnauthenticatedError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.Unauthenticated, message, options);
  }
}

export class ShuttingDownError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.ShuttingDown, message, options);
  }
}

/** A cluster daemon cannot reach its queue (Redis), or the queue lost a job in flight: sending again is the remedy. */
export class QueueUnavailableError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.QueueUnavailable, message, options);
  }
}

export class WorkerCrashedError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.WorkerCrashed, message, options);
  }
}

export class ExecutionProviderUnavailableError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.ExecutionProviderUnavailable, message, options);
  }
}

export class InferenceFailedError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.InferenceFailed, message, options);
  }
}

export class EncodeFailedError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.EncodeFailed, message, options);
  }
}

/** A request_id already used by another requester (platform, server, user): its job is not theirs to see. */
export class RequestIdTakenError extends DaemonError {
  constructor(requestId: string) {
    super(DaemonErrorCode.RequestIdTaken, `request_id "${excerpt(requestId)}" belongs to another requester; choose a new one`);
  }
}

/** The same requester sent a request_id again with other parameters: a retry must repeat the request exactly. */
export class RequestIdReusedError extends DaemonError {
  constructor(requestId: string) {
    super(DaemonErrorCode.RequestIdReused, `request_id "${excerpt(requestId)}" was already used for a different request (other parameters); choose a new id, or resend the same parameters to follow the first one`);
  }
}

/** A Generate stream past the cap of streams per job or per client connection. */
export class TooManyStreamsError extends DaemonError {
  constructor(message: string, options?: CodedErrorOptions) {
    super(DaemonErrorCode.TooManyStreams, message, options);
  }
}

/**
 * The output safety check (inference/safety/) flagged the clip: the job ends with this before any of the clip is
 * encoded or sent. The message tells the person why in words (the labels), never the scores or thresholds.
 */
export class OutputWithheldError extends DaemonError {
  readonly labels: readonly string[];
  /** The flagged labels, most flagged first (at least one). */
  constructor(...labels: string[]) {
    super(
      DaemonErrorCode.OutputWithheld,
      `the clip was withheld: the daemon's output safety check flagged it as ${labels.map((l) => `"${excerpt(l)}"`).join(' and ')}, so none of it was sent; try another prompt or seed`,
    );
    this.labels = labels;
  }
}

/**
 * The daemon's prompt policy refused a request: its prompt or negative prompt holds a blocked term (inference/policy/).
 * The message names the field and the term in the wire's words (shared/wire/prompt-refusal.ts), never the prompt.
 */
export class PromptRefusedError extends DaemonError {
  constructor(readonly field: PromptPolicyField, readonly term: string) {
    super(DaemonErrorCode.PromptRefused, promptRefusalMessage(field, excerpt(term)));
  }
}

/** Any thrown value as a DaemonError, so that every failure reaches the requester with a status and a message. */
export function asDaemonError(err: unknown, fallback: (message: string) => DaemonError = (m) => new InferenceFailedError(m)): DaemonError {
  if (err instanceof DaemonError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = fallback(message);
  if (err instanceof Error && err.stack) wrapped.stack = err.stack;
  return wrapped;
}

/**
 * An error that happened elsewhere in a cluster (a worker), as it arrives at the gateway: its code and its message,
 * already written for people. CANCELLED comes back as RequestCancelledError, so a relayed job ends 'cancelled'.
 */
class RelayedDaemonError extends DaemonError {}

export function errorFromCode(code: string, message: string): DaemonError {
  if (code === DaemonErrorCode.Cancelled) return new RequestCancelledError(message);
  if (isDaemonErrorCode(code)) return new RelayedDaemonError(code, message);
  return new InferenceFailedError(message);
}
