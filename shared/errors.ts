// The one shape of a coded error, on both sides of the wire. Every error a wing raises on purpose is a CodedError:
// `code` is stable and UPPER_SNAKE (callers branch on it; the message may change wording), `message` is for people.
// Each wing keeps its own code table and subclasses (DaemonError, BotError, MediaError, SchedulerError), in the manner
// of Bolt's CodedError + ErrorCode; what a code means on the wire (a gRPC status) is decided at the wire, never here.

/** Every code in every table matches this: upper snake case, at most 64 characters (it travels as a trailer). */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

export interface CodedErrorOptions {
  cause?: unknown;
}

export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

export function isCodedError(value: unknown): value is CodedError {
  return value instanceof CodedError;
}
