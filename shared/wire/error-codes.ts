// The daemon's error codes as they travel: each failed call carries a gRPC status and, in the trailer
// `animate-error-code`, one of these codes (proto/animate/v1/animator.proto lists the pairs in its header). The one
// table from code to status is here: the daemon's toServiceError sends by it, and clients read the code back with
// readDaemonErrorCode. Daemon errors themselves carry only the code (inference/errors.ts), never a status.
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { ERROR_CODE_PATTERN } from '../errors.ts';

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
  QueueUnavailable: 'QUEUE_UNAVAILABLE',
  /** The daemon's prompt policy (ANIMATE_BLOCKLIST_FILE) refused the prompt or negative prompt: shared/wire/prompt-refusal.ts. */
  PromptRefused: 'PROMPT_REFUSED',
  /** The daemon's output safety check withheld the clip (inference/safety/): nothing of it was sent; the message names the label. */
  OutputWithheld: 'OUTPUT_WITHHELD',
} as const;
export type DaemonErrorCode = (typeof DaemonErrorCode)[keyof typeof DaemonErrorCode];

/** Trailer key carrying the daemon's code. */
export const ERROR_CODE_TRAILER = 'animate-error-code';
/** Trailer key of QUEUE_FULL: milliseconds after which a retry may be admitted. */
export const RETRY_AFTER_TRAILER = 'retry-after-ms';

/** The gRPC status each code is sent with: the one table (the proto's header documents the same rows). */
export const DAEMON_ERROR_STATUS: Readonly<Record<DaemonErrorCode, GrpcStatus>> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  MODEL_NOT_FOUND: GrpcStatus.NOT_FOUND,
  MODEL_INVALID: GrpcStatus.FAILED_PRECONDITION,
  EXECUTION_PROVIDER_UNAVAILABLE: GrpcStatus.FAILED_PRECONDITION,
  REQUEST_ID_TAKEN: GrpcStatus.PERMISSION_DENIED,
  OUTPUT_WITHHELD: GrpcStatus.PERMISSION_DENIED,
  PROMPT_REFUSED: GrpcStatus.PERMISSION_DENIED,
  REQUEST_ID_REUSED: GrpcStatus.ALREADY_EXISTS,
  QUEUE_FULL: GrpcStatus.RESOURCE_EXHAUSTED,
  TOO_MANY_STREAMS: GrpcStatus.RESOURCE_EXHAUSTED,
  CANCELLED: GrpcStatus.CANCELLED,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  SHUTTING_DOWN: GrpcStatus.UNAVAILABLE,
  QUEUE_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  WORKER_CRASHED: GrpcStatus.INTERNAL,
  INFERENCE_FAILED: GrpcStatus.INTERNAL,
  ENCODE_FAILED: GrpcStatus.INTERNAL,
};

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(DaemonErrorCode));

export function isDaemonErrorCode(value: unknown): value is DaemonErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

/** The codes a status can come with: what a client may find in the trailer beside it (empty: gRPC's own status). */
export function daemonCodesFor(status: GrpcStatus): DaemonErrorCode[] {
  return (Object.keys(DAEMON_ERROR_STATUS) as DaemonErrorCode[]).filter((c) => DAEMON_ERROR_STATUS[c] === status);
}

/**
 * What a client reads back from a failed call's trailers: `known` is a code of this table; `raw` is any code-shaped
 * value (a newer daemon's code this client does not know yet is still worth showing and logging).
 */
export function readDaemonErrorCode(metadata: Metadata | undefined): { known: DaemonErrorCode | undefined; raw: string | undefined } {
  const value = typeof metadata?.get === 'function' ? metadata.get(ERROR_CODE_TRAILER)[0] : undefined;
  const raw = value === undefined ? undefined : value.toString();
  if (raw === undefined || !ERROR_CODE_PATTERN.test(raw)) return { known: undefined, raw: undefined };
  return { known: isDaemonErrorCode(raw) ? raw : undefined, raw };
}

/** QUEUE_FULL's retry-after trailer, in whole seconds (at least 1), or undefined when absent or malformed. */
export function readRetryAfterSeconds(metadata: Metadata | undefined): number | undefined {
  const value = typeof metadata?.get === 'function' ? metadata.get(RETRY_AFTER_TRAILER)[0] : undefined;
  const ms = value === undefined ? NaN : Number(value.toString());
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : undefined;
}
