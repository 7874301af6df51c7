// Errors the bot core shows to people. Every failure a person can see is a BotError, the bots' CodedError
// (shared/errors.ts): a stable UPPER_SNAKE `code` (one class per code, like Bolt's ErrorCode) and a `message` written
// for the person who asked, so adapters can render any of them without knowing where it came from.
import { CodedError } from '../../shared/errors.ts';
import { redactDetail } from './redact.ts';

export const BotErrorCode = {
  /** An /animate option is missing, malformed or out of the model's range. */
  InvalidOptions: 'INVALID_OPTIONS',
  /** The daemon does not serve the requested model (gRPC NOT_FOUND). */
  UnknownModel: 'UNKNOWN_MODEL',
  /** The daemon's queue is full (gRPC RESOURCE_EXHAUSTED); `retryAfterSeconds` says when to try again. */
  QueueFull: 'QUEUE_FULL',
  /** The daemon cannot be reached or is shutting down (gRPC UNAVAILABLE). */
  DaemonUnavailable: 'DAEMON_UNAVAILABLE',
  /** The daemon refused our token (gRPC UNAUTHENTICATED). */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The job took longer than its deadline (gRPC DEADLINE_EXCEEDED, or the bot's own deadline from the model's ETA). */
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  /** The daemon went silent mid-job (no event for longer than the job's pace allows), so the bot cancelled the job. */
  DaemonStalled: 'DAEMON_STALLED',
  /** The generation failed inside the daemon (gRPC INTERNAL or anything unexpected). */
  GenerationFailed: 'GENERATION_FAILED',
  /** The job was cancelled by the daemon (not by a person: those end in JobSurface.cancelled). */
  Cancelled: 'CANCELLED',
  /** A per-user or per-server limit is reached; `retryAfterSeconds` when it is a rate. */
  RateLimited: 'RATE_LIMITED',
  /** The content filter refused the prompt. */
  ContentRefused: 'CONTENT_REFUSED',
  /** The person may not do this (e.g. cancel someone else's job without being a moderator). */
  NotAllowed: 'NOT_ALLOWED',
  /** A button refers to a job the bot no longer remembers (restarted, or expired from the registry). */
  UnknownJob: 'UNKNOWN_JOB',
  /** The action does not apply to the job in its current state (e.g. cancelling a finished job). */
  InvalidState: 'INVALID_STATE',
  /** The platform refused what the adapter tried (missing permission, upload too large…); set by adapters. */
  PlatformError: 'PLATFORM_ERROR',
} as const;

export type BotErrorCode = (typeof BotErrorCode)[keyof typeof BotErrorCode];

export interface BotErrorOptions {
  cause?: unknown;
  /** Seconds after which trying again may succeed (queue full, rate limited). */
  retryAfterSeconds?: number;
}

export class BotError extends CodedError<BotErrorCode> {
  readonly retryAfterSeconds: number | undefined;

  constructor(code: BotErrorCode, message: string, options: BotErrorOptions = {}) {
    super(code, message, { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class InvalidOptionsError extends BotError {
  /** The option at fault (e.g. "steps"), or undefined when the command as a whole is malformed. */
  readonly option: string | undefined;
  constructor(message: string, option?: string, options?: BotErrorOptions) {
    super(BotErrorCode.InvalidOptions, message, options);
    this.option = option;
  }
}

export class UnknownModelError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.UnknownModel, message, options);
  }
}

export class QueueFullError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.QueueFull, message, options);
  }
}

export class DaemonUnavailableError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.DaemonUnavailable, message, options);
  }
}

export class UnauthenticatedError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.Unauthenticated, message, options);
  }
}

export class DeadlineExceededError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.DeadlineExceeded, message, options);
  }
}

export class DaemonStalledError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.DaemonStalled, message, options);
  }
}

export class GenerationFailedError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.GenerationFailed, message, options);
  }
}

export class JobCancelledError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.Cancelled, message, options);
  }
}

export class RateLimitedError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.RateLimited, message, options);
  }
}

export class ContentRefusedError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.ContentRefused, message, options);
  }
}

export class NotAllowedError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.NotAllowed, message, options);
  }
}

export class UnknownJobError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.UnknownJob, message, options);
  }
}

export class InvalidStateError extends BotError {
  constructor(message: string, options?: BotErrorOptions) {
    super(BotErrorCode.InvalidState, message, options);
  }
}

/** For adapters: the platform refused an operation (missing permission, upload limit, channel gone…). */
export class PlatformError extends BotError {
  /** The platform's own error code or name, for logs (e.g. Discord 50013, Slack "not_in_channel"). */
  readonly platformCode: string | undefined;
  constructor(message: string, platformCode?: string, options?: BotErrorOptions) {
    super(BotErrorCode.PlatformError, message, options);
    this.platformCode = platformCode;
  }
}

export function isBotError(err: unknown): err is BotError {
  return err instanceof BotError;
}

/**
 * Wraps anything thrown into a BotError so that a person always gets a readable message. The error's own message is
 * added redacted (first line, no server paths, capped): the full error belongs in the log.
 */
export function toBotError(err: unknown, fallback = 'Something went wrong while making your clip.'): BotError {
  if (err instanceof BotError) return err;
  const shown = err instanceof Error ? redactDetail(err.message) : '';
  const detail = shown ? ` (${shown})` : '';
  return new GenerationFailedError(`${fallback}${detail}`, { cause: err });
}
