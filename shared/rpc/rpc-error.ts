// What a failed call to the daemon becomes on the client side: one DaemonCallError, a CodedError (shared/errors.ts)
// whose `code` is the daemon's own stable code from the `animate-error-code` trailer (QUEUE_FULL, INVALID_ARGUMENT,
// REQUEST_ID_TAKEN…), so that callers branch on the same word the daemon logged and never parse gRPC statuses. A
// failure the daemon did not code (the connection, a deadline, grpc-js itself) gets a client code from the one
// status table below. The gRPC status stays on the error (`status`) for the boundary's own uses (logs, the wire tests),
// and the message is written for people: the daemon's text, or a sentence naming the call, the address and
// ANIMATE_DAEMON_ADDRESS; never grpc-js's raw "No connection established. Last error: … Resolution note:".
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { CodedError } from '../errors.ts';
import { readDaemonErrorCode } from '../wire/error-codes.ts';

/** Codes of failures the daemon did not code: the client saw them itself. */
export const ClientCallCode = {
  /** No connection to the daemon could be made (nothing listens, the name does not resolve, TLS failed). */
  DaemonUnreachable: 'DAEMON_UNREACHABLE',
  /** The connection was there and went away, or the daemon refused without a code. */
  DaemonUnavailable: 'DAEMON_UNAVAILABLE',
  /** The call's deadline passed (a unary call's default deadline, or the caller's). */
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  /** The caller cancelled the call (or its signal aborted). */
  Cancelled: 'CANCELLED',
} as const;
export type ClientCallCode = (typeof ClientCallCode)[keyof typeof ClientCallCode];

/** The variable that tells every client where the daemon is; named in the messages about reaching it. */
export const DAEMON_ADDRESS_VARIABLE = 'ANIMATE_DAEMON_ADDRESS';

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

/**
 * The client's table, from a gRPC status with no daemon code to the client's code; any other status keeps its own name.
 * The bots' fallback for a code they do not know (bots/core/rpc-errors.ts) takes these rows from here
 * (clientCodeForStatus) and adds only the statuses of the daemon's own codes, so no row is written twice.
 */
const UNCODED_STATUS_CODES: Partial<Record<GrpcStatus, ClientCallCode>> = {
  [GrpcStatus.UNAVAILABLE]: ClientCallCode.DaemonUnavailable,
  [GrpcStatus.DEADLINE_EXCEEDED]: ClientCallCode.DeadlineExceeded,
  [GrpcStatus.CANCELLED]: ClientCallCode.Cancelled,
};

/** The client's code for a failure with `status` and no daemon code, when the client has one for it. */
export function clientCodeForStatus(status: number): ClientCallCode | undefined {
  return UNCODED_STATUS_CODES[status as GrpcStatus];
}

/** The RPC a call was (Generate, ListModels, Cancel, Check), for messages. */
export type DaemonMethod = 'Generate' | 'ListModels' | 'Cancel' | 'Check' | 'WaitForReady';

export interface DaemonCallErrorFields {
  /** The gRPC status the call ended with (for logs and the wire's tests; branch on `code`). */
  status: GrpcStatus;
  /** The status details as sent (the daemon's text, or grpc-js's). */
  details: string;
  /** The trailers (retry-after-ms and the like). */
  metadata: Metadata;
  /** The code the daemon sent in `animate-error-code`, when it sent one. */
  daemonCode: string | undefined;
  method: DaemonMethod;
  /** The address dialled, as given (HOST:PORT, a list, dns:///…). */
  address: string;
}

export class DaemonCallError extends CodedError<string> implements DaemonCallErrorFields {
  readonly status: GrpcStatus;
  readonly details: string;
  readonly metadata: Metadata;
  readonly daemonCode: string | undefined;
  readonly method: DaemonMethod;
  readonly address: string;

  constructor(code: string, message: string, fields: DaemonCallErrorFields, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.status = fields.status;
    this.details = fields.details;
    this.metadata = fields.metadata;
    this.daemonCode = fields.daemonCode;
    this.method = fields.method;
    this.address = fields.address;
  }

  /** The gRPC status's name, e.g. RESOURCE_EXHAUSTED. */
  get statusName(): string {
    return STATUS_NAMES.get(this.status) ?? `status ${this.status}`;
  }
}

export function isDaemonCallError(err: unknown): err is DaemonCallError {
  return err instanceof DaemonCallError;
}

/** A gRPC status error's shape (grpc-js's ServiceError, or one made on this side). */
interface StatusLike {
  code: number;
  details?: string;
  message?: string;
  metadata?: Metadata;
}

const isStatusLike = (err: unknown): err is StatusLike => typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number';

/**
 * grpc-js's channel phrases that carry nothing for a reader ("No connection established. Last error: ", a dangling
 * "Resolution note:", "round_robin: ", "Error: " before "connect E…") taken out of a text; the cause inside is kept.
 * The one cleanup: the CLIs' error lines (inference/cli/cli-error.ts) use it too.
 */
export function withoutGrpcChannelText(raw: string): string {
  return raw
    .replace(/^round_robin: /, '')
    .replace(/(No connection established\. Last error: )+/g, '')
    .replace(/\.?\s*Resolution note:.*$/s, '')
    .replace(/\bError: (connect E[A-Z]+)/g, '$1')
    .trim();
}

/**
 * grpc-js's text for a channel that could not connect, as a few plain words: "connection refused" instead of
 * "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ".
 */
export function connectFailureReason(raw: string): string | undefined {
  const text = withoutGrpcChannelText(raw).replace(/^(Error: )+/, '').trim();
  if (text === '' || text === 'null' || text === 'undefined') return undefined; // grpc-js had no error to report yet
  if (/ECONNREFUSED/.test(text)) return 'connection refused: nothing listens there';
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(text)) return 'the host name does not resolve';
  if (/ETIMEDOUT/.test(text)) return 'the connection timed out';
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'no route to the host';
  if (/ECONNRESET/.test(text)) return 'the connection was reset';
  return text.replace(/[.\s]+$/, '').slice(0, 300);
}

/** What to do about a daemon that cannot be reached, said the same by every client (the bots, the CLIs). */
export const DAEMON_UNREACHABLE_HINT = `Start the daemon (npm run daemon), or set ${DAEMON_ADDRESS_VARIABLE} to the HOST:PORT of one that runs.`;

/** The sentence for a daemon that cannot be reached: names it and ANIMATE_DAEMON_ADDRESS. */
export function unreachableMessage(where: string, plural: boolean, waitedMs: number | undefined, reason: string | undefined): string {
  const why = waitedMs === undefined ? (reason ?? 'no connection could be made') : `no connection within ${waitedMs} ms${reason ? ` (${reason})` : ''}`;
  return `${where} ${plural ? 'are' : 'is'} unreachable: ${why}. ${DAEMON_UNREACHABLE_HINT}`;
}

/** grpc-js's own text for a call on a channel that never connected (readyTimeoutMs 0, or a stream that lost it). */
const NO_CONNECTION = /^(round_robin: )?No connection established|^Name resolution failed|^Failed to connect/;

export interface CallContext {
  method: DaemonMethod;
  address: string;
  /** "the daemon at HOST:PORT" or "the gateways at …" (describeDaemonTarget). */
  where: string;
  plural: boolean;
  /** The deadline the call had, for the message when it passes. */
  deadlineMs?: number | undefined;
}

/**
 * Any failure of a call to the daemon as a DaemonCallError. A DaemonCallError passes through; a gRPC status error is
 * read: its trailer's code (else the table's), its status and details; anything else (a bug on this side) is
 * returned as it is, for the caller's own handling.
 */
export function toDaemonCallError(err: unknown, context: CallContext): unknown {
  if (err instanceof DaemonCallError || !isStatusLike(err)) return err;
  const status = err.code as GrpcStatus;
  const details = err.details ?? err.message ?? '';
  const metadata = err.metadata instanceof Metadata ? err.metadata : new Metadata();
  const daemonCode = readDaemonErrorCode(metadata).raw;
  const fields = { status, details, metadata, daemonCode, method: context.method, address: context.address };
  if (daemonCode) return new DaemonCallError(daemonCode, details || `${context.method} failed (${daemonCode})`, fields, { cause: err });
  if (status === GrpcStatus.UNAVAILABLE && NO_CONNECTION.test(details))
    return new DaemonCallError(ClientCallCode.DaemonUnreachable, unreachableMessage(context.where, context.plural, undefined, connectFailureReason(details)), fields, { cause: err });
  const code = UNCODED_STATUS_CODES[status] ?? STATUS_NAMES.get(status) ?? 'UNKNOWN';
  return new DaemonCallError(code, uncodedMessage(status, details, context), fields, { cause: err });
}

function uncodedMessage(status: GrpcStatus, details: string, context: CallContext): string {
  const text = details.replace(/[.\s]+$/, '');
  switch (status) {
    case GrpcStatus.DEADLINE_EXCEEDED:
      if (text.startsWith('the deadline passed while connecting')) return `${context.method}: ${text}.`;
      return `${context.method} got no answer from ${context.where}${context.deadlineMs ? ` within its deadline of ${context.deadlineMs} ms` : ' before its deadline'}.`;
    case GrpcStatus.UNAVAILABLE:
      return `${context.method}: ${context.where} went away or refused the call${text ? ` (${text})` : ''}. Try again in a moment.`;
    case GrpcStatus.CANCELLED:
      return `${context.method} was cancelled${text && text !== 'Cancelled on client' ? ` (${text})` : ''}.`;
    default:
      return `${context.method} failed with ${STATUS_NAMES.get(status) ?? `status ${status}`}${text ? `: ${text}` : ''}.`;
  }
}

/**
 * The wire's view of a failed call ({ code: gRPC status, details, metadata }, as grpc-js shapes it), for code that
 * checks the daemon's statuses themselves (the fault suite, the daemon's tests).
 */
export function wireStatusOf(err: unknown): { code: number; details: string; metadata: Metadata } | undefined {
  if (err instanceof DaemonCallError) return { code: err.status, details: err.details, metadata: err.metadata };
  if (isStatusLike(err)) return { code: err.code, details: err.details ?? err.message ?? '', metadata: err.metadata instanceof Metadata ? err.metadata : new Metadata() };
  return undefined;
}
