// The daemon's failures as people see them. The daemon sends a gRPC status, its details, and its own stable code in
// the trailer `animate-error-code` (DaemonErrorCode, read back with the wire's own table in
// shared/wire/error-codes.ts; bots/ does not import inference/). Statuses whose details are written for people (bad options, unknown model, a
// full queue, a refused request id) show them, redacted and capped; statuses whose details are server internals
// (INTERNAL, FAILED_PRECONDITION, UNKNOWN and the rest) show a sentence chosen by the code, never the details, which
// can carry package paths or stack traces. Either way the person sees the code, so a report can be traced in the
// daemon's log; describeRpcError() gives the full text for the bot's own log.
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { isServiceError } from '../../shared/rpc/client.ts';
import {
  BotError,
  JobCancelledError,
  DaemonUnavailableError,
  DeadlineExceededError,
  GenerationFailedError,
  InvalidOptionsError,
  InvalidStateError,
  NotAllowedError,
  QueueFullError,
  UnauthenticatedError,
  UnknownModelError,
  toBotError,
} from './errors.ts';
import { formatDuration } from './limits.ts';
import { redactDetail } from './redact.ts';
import { DaemonErrorCode, readDaemonErrorCode, readRetryAfterSeconds } from '../../shared/wire/error-codes.ts';

/** Sentences for daemon codes whose details are not shown; a code missing here gets the sentence of its gRPC status. */
const DAEMON_CODE_SENTENCES: Readonly<Partial<Record<DaemonErrorCode, string>>> = {
  [DaemonErrorCode.ModelInvalid]: 'This model is not available on the server right now',
  [DaemonErrorCode.ExecutionProviderUnavailable]: 'The animation server cannot run this model on its hardware right now',
  [DaemonErrorCode.WorkerCrashed]: 'The animation server’s model worker crashed while making this clip; try again in a moment',
  [DaemonErrorCode.InferenceFailed]: 'The model failed while making this clip; try again, or try other settings',
  [DaemonErrorCode.EncodeFailed]: 'The clip was made but could not be encoded as a video; try again',
};

/** Sentences by gRPC status, when the daemon's code is absent or unknown here. */
const STATUS_SENTENCES: Partial<Record<number, string>> = {
  [GrpcStatus.FAILED_PRECONDITION]: 'The animation server cannot make this clip right now',
  [GrpcStatus.INTERNAL]: 'The animation server hit an internal error while making this clip',
};
const FALLBACK_SENTENCE = 'The animation server hit an unexpected error while making this clip';

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

/**
 * The daemon's code from the trailer, if it sent one that looks like a code: one of DaemonErrorCode, or a newer
 * daemon's code this bot does not know (shown and logged all the same, branched on by its status).
 */
export function daemonErrorCode(err: { metadata?: Metadata | undefined }): string | undefined {
  return readDaemonErrorCode(err.metadata).raw;
}

/** The daemon's code when it is one this bot knows. */
function knownDaemonCode(err: { metadata?: Metadata | undefined }): DaemonErrorCode | undefined {
  return readDaemonErrorCode(err.metadata).known;
}

/** The code shown to the person: the daemon's own, else the gRPC status name. */
function shownCode(err: { code: number; metadata?: Metadata | undefined }): string {
  return daemonErrorCode(err) ?? STATUS_NAMES.get(err.code) ?? `status ${err.code}`;
}

/** "sentence: detail (CODE)." with a redacted detail, or "sentence (CODE)." without one. */
function sentence(text: string, code: string, detail?: string): string {
  const shown = redactDetail(detail).replace(/[.\s]+$/, '');
  return `${text}${shown ? `: ${shown}` : ''} (${code}).`;
}

/** Everything about a gRPC failure, for the bot's log (never for a chat). */
export function describeRpcError(err: unknown): string {
  if (!isServiceError(err)) return err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `${STATUS_NAMES.get(err.code) ?? err.code}${daemonErrorCode(err) ? `/${daemonErrorCode(err)}` : ''}: ${err.details || err.message}`;
}

/** Maps a gRPC failure (or anything thrown) to the BotError the person sees. */
export function botErrorFromRpc(err: unknown): BotError {
  if (err instanceof BotError) return err;
  if (!isServiceError(err)) return toBotError(err);
  const details = err.details || '';
  const code = shownCode(err);
  switch (err.code) {
    case GrpcStatus.INVALID_ARGUMENT:
      // Written for the person (it names the option and what is allowed); shown as the daemon wrote it.
      return new InvalidOptionsError(redactDetail(details) || `The animation server refused these options (${code}).`, undefined, { cause: err });
    case GrpcStatus.NOT_FOUND:
      return new UnknownModelError(redactDetail(details) || `The animation server does not serve this model (${code}).`, { cause: err });
    case GrpcStatus.RESOURCE_EXHAUSTED: {
      const retryAfterSeconds = readRetryAfterSeconds(err.metadata);
      const when = retryAfterSeconds === undefined ? 'in a little while' : `in ${formatDuration(retryAfterSeconds * 1000)}`;
      const opts = retryAfterSeconds === undefined ? { cause: err } : { cause: err, retryAfterSeconds };
      const daemonCode = daemonErrorCode(err);
      if (daemonCode === undefined || daemonCode === DaemonErrorCode.QueueFull) {
        // The daemon says why (the queue is full, you have the most waiting…); its own "try again in about" is
        // replaced by ours, from the same retry-after-ms.
        const why = redactDetail(details.replace(/;\s*try again in about[^;]*$/i, '')).replace(/[.\s]+$/, '');
        return new QueueFullError(`The generation queue is full right now. Try again ${when}.${why ? ` Reason: ${why}.` : ''}`, opts);
      }
      // Another cap (streams per job or per connection…): its details say which.
      return new QueueFullError(sentence('The animation server is too busy for this request right now', code, details).replace(/\.$/, `. Try again ${when}.`), opts);
    }
    case GrpcStatus.PERMISSION_DENIED:
      // A request id that belongs to another requester: nothing of theirs is shown, and nothing started. The
      // daemon's detail speaks of request_id, which the person never chose, so the known code gets its own sentence.
      if (knownDaemonCode(err) === DaemonErrorCode.RequestIdTaken)
        return new NotAllowedError(sentence('This request’s id is already used by someone else’s request, so it was not started. Send your command again', code), { cause: err });
      return new NotAllowedError(sentence('The animation server refused this request, so no clip was started', code, details), { cause: err });
    case GrpcStatus.ALREADY_EXISTS:
      // The same request id resent with other settings: the first request's clip is not what was asked for.
      if (knownDaemonCode(err) === DaemonErrorCode.RequestIdReused)
        return new InvalidStateError(sentence('This request was already sent with other settings, so it was not started again. Send your command again as a new request', code), { cause: err });
      return new InvalidStateError(sentence('This request was already sent with other settings, so it was not started again', code, details), { cause: err });
    case GrpcStatus.UNAVAILABLE:
      return new DaemonUnavailableError('The animation daemon is unreachable or shutting down, so the clip could not be made. Try again in a moment.', { cause: err });
    case GrpcStatus.UNAUTHENTICATED:
      return new UnauthenticatedError('The bot could not authenticate with the animation daemon (check ANIMATE_TOKEN).', { cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new DeadlineExceededError('The clip took too long and was stopped. Try fewer steps or a shorter clip.', { cause: err });
    case GrpcStatus.CANCELLED: {
      // The reason can be another person's text (Cancel.reason): redacted and capped like any detail.
      const reason = redactDetail(details).replace(/[.\s]+$/, '');
      return new JobCancelledError(`The job was cancelled by the daemon${reason ? `: ${reason}` : ''}.`, { cause: err });
    }
    default: {
      const daemonCode = knownDaemonCode(err);
      const text = (daemonCode && DAEMON_CODE_SENTENCES[daemonCode]) ?? STATUS_SENTENCES[err.code] ?? FALLBACK_SENTENCE;
      return new GenerationFailedError(sentence(text, code), { cause: err });
    }
  }
}
