/**
 * Errors of the media module. Every failure is a CodedError (shared/errors.ts) with a stable UPPER_SNAKE `code`, so
 * callers (the daemon wraps them in its own EncodeFailedError) can branch without parsing messages; messages stay
 * human and, when ffmpeg was involved, end with ffmpeg's own last stderr lines because those say what actually went
 * wrong.
 */
import { CodedError } from '../../shared/errors.ts';

export const MediaErrorCode = {
  /** No usable ffmpeg/ffprobe binary (a configured path does not exist, or nothing runnable was found). */
  FfmpegNotFound: 'FFMPEG_NOT_FOUND',
  /** An ffmpeg binary was found but lacks an encoder or filter this module needs. */
  FfmpegUnsuitable: 'FFMPEG_UNSUITABLE',
  /** ffmpeg failed while encoding a clip or preview. */
  EncodeFailed: 'ENCODE_FAILED',
  /** ffmpeg failed while decoding a clip back to frames. */
  DecodeFailed: 'DECODE_FAILED',
  /** ffprobe failed or described something that is not a video. */
  ProbeFailed: 'PROBE_FAILED',
  /** The caller's AbortSignal fired; the ffmpeg process was killed. */
  Aborted: 'ABORTED',
  /** The RgbVideo handed in is malformed (sizes, fps, frame lengths). */
  InvalidVideo: 'INVALID_VIDEO',
  /** The encode/preview options are out of range. */
  InvalidOptions: 'INVALID_OPTIONS',
  /** Even the lowest quality step did not fit under `maxBytes`. */
  OutputTooLarge: 'OUTPUT_TOO_LARGE',
} as const;

export type MediaErrorCode = (typeof MediaErrorCode)[keyof typeof MediaErrorCode];

/** How many of ffmpeg's last stderr lines a message quotes: enough for the cause, short enough for a log line. */
const STDERR_LINES_IN_MESSAGE = 6;

export interface MediaErrorDetails {
  /** ffmpeg/ffprobe stderr (whole or tail); its last lines are appended to the message. */
  stderr?: string;
  cause?: unknown;
}

export class MediaError extends CodedError<MediaErrorCode> {
  /** The last stderr lines of the ffmpeg/ffprobe run, when one was involved. */
  readonly stderrTail: readonly string[];

  constructor(code: MediaErrorCode, message: string, details: MediaErrorDetails = {}) {
    const stderrTail = lastLines(details.stderr ?? '', STDERR_LINES_IN_MESSAGE);
    const full = stderrTail.length > 0 ? `${message}\nffmpeg said:\n  ${stderrTail.join('\n  ')}` : message;
    super(code, full, { cause: details.cause });
    this.stderrTail = stderrTail;
  }
}

export class FfmpegNotFoundError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.FfmpegNotFound, message, details);
  }
}

export class FfmpegUnsuitableError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.FfmpegUnsuitable, message, details);
  }
}

export class EncodeFailedError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.EncodeFailed, message, details);
  }
}

export class DecodeFailedError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.DecodeFailed, message, details);
  }
}

export class ProbeFailedError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.ProbeFailed, message, details);
  }
}

export class MediaAbortedError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.Aborted, message, details);
  }
}

export class InvalidVideoError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.InvalidVideo, message, details);
  }
}

export class InvalidMediaOptionsError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.InvalidOptions, message, details);
  }
}

export class OutputTooLargeError extends MediaError {
  constructor(message: string, details?: MediaErrorDetails) {
    super(MediaErrorCode.OutputTooLarge, message, details);
  }
}

export function isMediaError(value: unknown): value is MediaError {
  return value instanceof MediaError;
}

/** Non-empty trimmed lines at the end of `text`, at most `count` of them. */
export function lastLines(text: string, count: number): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .slice(-count);
}
