// The daemon's failures as people see them. The client (shared/rpc/client.ts) hands every failed call over as one
// DaemonCallError (shared/rpc/rpc-error.ts) whose `code` is the daemon's own stable code from the trailer
// `animate-error-code` (DaemonErrorCode; bots/ does not import inference/), or the client's code for what the daemon
// did not code (DAEMON_UNREACHABLE, DEADLINE_EXCEEDED…); this maps by that code. Only a code this bot does not know
// (a newer daemon's) or none at all falls back on the gRPC status (STATUS_FALLBACK_CODES, then the client's table).
// Codes whose details are written for people (bad options, unknown model, a full queue, a refused request id) show
// them, redacted and capped; codes whose details are server internals (INFERENCE_FAILED, MODEL_INVALID, INTERNAL and
// the rest) show a sentence chosen by the code, never the details, which can carry package paths or stack traces.
// Either way the person sees the code, so a report can be traced in the daemon's log; describeRpcError() gives the
// full text for the bot's own log.
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { isServiceError } from '../../shared/rpc/client.ts';
import { ClientCallCode, DaemonCallError, clientCodeForStatus, isDaemonCallError, toDaemonCallError } from '../../shared/rpc/rpc-error.ts';
import {
  BotError,
  ContentRefusedError,
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
import { contentRefusedMessage } from './content-filter.ts';
import { parsePromptRefusal } from '../../shared/wire/prompt-refusal.ts';
import { DaemonErrorCode, isDaemonErrorCode, readDaemonErrorCode, readRetryAfterSeconds } from '../../shared/wire/error-codes.ts';

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

/** The codes this maps by: the daemon's, and the client's own. */
type KnownCode = DaemonErrorCode | ClientCallCode | 'PERMISSION_DENIED' | 'ALREADY_EXISTS';

/**
 * For a code this bot does not know (a newer daemon's), the known code whose handling its status calls for: these rows
 * for the statuses of the daemon's codes, then the client's own table (shared/rpc/rpc-error.ts clientCodeForStatus:
 * UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED), which a failure without any code has already been coded by. A status in
 * neither is a generation failure with its status's sentence.
 */
const STATUS_FALLBACK_CODES: Partial<Record<number, KnownCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: DaemonErrorCode.InvalidArgument,
  [GrpcStatus.NOT_FOUND]: DaemonErrorCode.ModelNotFound,
  [GrpcStatus.RESOURCE_EXHAUSTED]: DaemonErrorCode.QueueFull,
  [GrpcStatus.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.UNAUTHENTICATED]: DaemonErrorCode.Unauthenticated,
};
const fallbackCode = (status: number): KnownCode | undefined => STATUS_FALLBACK_CODES[status] ?? clientCodeForStatus(status);

const CLIENT_CODES: ReadonlySet<string> = new Set(Object.values(ClientCallCode));

/** A failure as a DaemonCallError: the client's already are; a raw gRPC error (a caller's own call) is read the same way. */
function asCallError(err: unknown): DaemonCallError | undefined {
  if (isDaemonCallError(err)) return err;
  if (!isServiceError(err)) return undefined;
  const coded = toDaemonCallError(err, { method: 'Generate', address: '', where: 'the daemon', plural: false });
  return isDaemonCallError(coded) ? coded : undefined;
}

/**
 * The daemon's code from the trailer, if it sent one that looks like a code: one of DaemonErrorCode, or a newer
 * daemon's code this bot does not know (shown and logged all the same, branched on by its status).
 */
export function daemonErrorCode(err: { metadata?: Metadata | undefined }): string | undefined {
  return readDaemonErrorCode(err.metadata).raw;
}

/** "sentence: detail (CODE)." with a redacted detail, or "sentence (CODE)." without one. */
function sentence(text: string, code: string, detail?: string): string {
  const shown = redactDetail(detail).replace(/[.\s]+$/, '');
  return `${text}${shown ? `: ${shown}` : ''} (${code}).`;
}

/** Everything about a failed call, for the bot's log (never for a chat). */
export function describeRpcError(err: unknown): string {
  const call = asCallError(err);
  if (!call) return err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `${call.statusName}${call.daemonCode ? `/${call.daemonCode}` : ''}: ${call.details || call.message}`;
}

/** Maps a failed call (or anything thrown) to the BotError the person sees. */
export function botErrorFromRpc(err: unknown): BotError {
  if (err instanceof BotError) return err;
  const call = asCallError(err);
  if (!call) return toBotError(err);
  const details = call.details || '';
  // The code shown is the daemon's (or the client's) own; the code branched on is it when known here, else the
  // status's stand-in.
  const code = call.code;
  const known: KnownCode | undefined = isDaemonErrorCode(code) || CLIENT_CODES.has(code) ? (code as KnownCode) : fallbackCode(call.status);
  switch (known) {
    case DaemonErrorCode.InvalidArgument:
      // Written for the person (it names the option and what is allowed); shown as the daemon wrote it.
      return new InvalidOptionsError(redactDetail(details) || `The animation server refused these options (${code}).`, undefined, { cause: err });
    case DaemonErrorCode.ModelNotFound:
      return new UnknownModelError(redactDetail(details) || `The animation server does not serve this model (${code}).`, { cause: err });
    case DaemonErrorCode.QueueFull:
    case DaemonErrorCode.TooManyStreams: {
      const retryAfterSeconds = readRetryAfterSeconds(call.metadata);
      const when = retryAfterSeconds === undefined ? 'in a little while' : `in ${formatDuration(retryAfterSeconds * 1000)}`;
      const opts = retryAfterSeconds === undefined ? { cause: err } : { cause: err, retryAfterSeconds };
      if (known === DaemonErrorCode.QueueFull && (call.daemonCode === undefined || call.daemonCode === DaemonErrorCode.QueueFull)) {
        // The daemon says why (the queue is full, you have the most waiting…); its own "try again in about" is
        // replaced by ours, from the same retry-after-ms.
        const why = redactDetail(details.replace(/;\s*try again in about[^;]*$/i, '')).replace(/[.\s]+$/, '');
        return new QueueFullError(`The generation queue is full right now. Try again ${when}.${why ? ` Reason: ${why}.` : ''}`, opts);
      }
      // Another cap (streams per job or per connection…): its details say which.
      return new QueueFullError(sentence('The animation server is too busy for this request right now', code, details).replace(/\.$/, `. Try again ${when}.`), opts);
    }
    case DaemonErrorCode.RequestIdTaken:
      // A request id that belongs to another requester: nothing of theirs is shown, and nothing started. The
      // daemon's detail speaks of request_id, which the person never chose, so the code gets its own sentence.
      return new NotAllowedError(sentence('This request’s id is already used by someone else’s request, so it was not started. Send your command again', code), { cause: err });
    case DaemonErrorCode.PromptRefused: {
      // The daemon's prompt policy: shown as the bot's own filter words it, naming the term and which text held it.
      const refused = parsePromptRefusal(details);
      const what = refused?.field === 'negative_prompt' ? 'negative prompt' : 'prompt';
      return new ContentRefusedError(refused ? contentRefusedMessage(redactDetail(refused.term), what) : sentence('The animation server refused this prompt', code, details), { cause: err });
    }
    case DaemonErrorCode.OutputWithheld: {
      // The daemon's output safety check withheld the finished clip: its message is written for people (why, by the
      // label, and what to try), so it is shown as the daemon wrote it.
      const why = redactDetail(details).replace(/[.\s]+$/, '');
      return new ContentRefusedError(why ? `${why.charAt(0).toUpperCase()}${why.slice(1)} (${code}).` : `The clip was withheld by the animation server’s output safety check (${code}).`, { cause: err });
    }
    case 'PERMISSION_DENIED':
      return new NotAllowedError(sentence('The animation server refused this request, so no clip was started', code, details), { cause: err });
    case DaemonErrorCode.RequestIdReused:
      // The same request id resent with other settings: the first request's clip is not what was asked for.
      return new InvalidStateError(sentence('This request was already sent with other settings, so it was not started again. Send your command again as a new request', code), { cause: err });
    case 'ALREADY_EXISTS':
      return new InvalidStateError(sentence('This request was already sent with other settings, so it was not started again', code, details), { cause: err });
    case DaemonErrorCode.ShuttingDown:
    case DaemonErrorCode.QueueUnavailable:
    case ClientCallCode.DaemonUnavailable:
    case ClientCallCode.DaemonUnreachable:
      return new DaemonUnavailableError('The animation daemon is unreachable or shutting down, so the clip could not be made. Try again in a moment.', { cause: err });
    case DaemonErrorCode.Unauthenticated:
      return new UnauthenticatedError('The bot could not authenticate with the animation daemon (check ANIMATE_TOKEN).', { cause: err });
    case DaemonErrorCode.DeadlineExceeded:
      return new DeadlineExceededError('The clip took too long and was stopped. Try fewer steps or a shorter clip.', { cause: err });
    case DaemonErrorCode.Cancelled: {
      // The reason can be another person's text (Cancel.reason): redacted and capped like any detail.
      const reason = redactDetail(details).replace(/[.\s]+$/, '');
      return new JobCancelledError(`The job was cancelled by the daemon${reason ? `: ${reason}` : ''}.`, { cause: err });
    }
    default: {
      const text = (isDaemonErrorCode(code) && DAEMON_CODE_SENTENCES[code]) || (STATUS_SENTENCES[call.status] ?? FALLBACK_SENTENCE);
      return new GenerationFailedError(sentence(text, code), { cause: err });
    }
  }
}
