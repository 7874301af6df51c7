// A thin, typed client for the Animator service, used by the CLI, the bots and the tests. It also owns how
// front-ends reach the daemon:
// - TLS: verified against the system roots or a private CA, with a client certificate for mutual TLS;
// - keepalive pings, so a frozen daemon or a network cut without a reset fails the calls on it with UNAVAILABLE
//   (within keepaliveTimeMs + keepaliveTimeoutMs, 15 s by default) instead of leaving them hanging;
// - waiting for the channel to be ready before each call (up to readyTimeoutMs), with a short reconnect backoff,
//   so the first request after a daemon restart succeeds instead of failing fast while the channel backs off;
// - several gateways (a comma-separated list or a dns:/// name): calls spread over them (round_robin), and a call a
//   gateway refuses at once with UNAVAILABLE (it is draining, or lost its queue: its health is NOT_SERVING) is retried
//   on the next one. grpc-js has no client-side health checking; the refusal is the signal;
// - a deadline on every unary call (CLIENT_DEFAULTS.unaryDeadlineMs, per connection or per call); streams have none
//   of their own (a clip takes as long as it takes: the bot core's watchdogs and the keepalive pings guard them);
// - one error: every failed call rejects with a DaemonCallError (./rpc-error.ts), coded with the daemon's
//   `animate-error-code`, with a message for people (an unreachable daemon names its address and ANIMATE_DAEMON_ADDRESS).
import * as grpc from '@grpc/grpc-js';
import { DaemonCallError, ClientCallCode, connectFailureReason, toDaemonCallError, unreachableMessage, type CallContext, type DaemonMethod } from './rpc-error.ts';
import { loadProtos } from './proto.ts';
import { registerAddressListResolver, ADDRESS_LIST_SCHEME } from './address-list-resolver.ts';
import { daemonTargetOf, describeDaemonTarget, DNS_TARGET_PREFIX, type DaemonTarget } from '../wire/address.ts';
import type { AnimatorClient, GenerateEvent__Output, GenerateRequest, ListModelsResponse__Output, CancelResponse__Output, Requester } from './types.ts';

export interface TlsClientOptions {
  /** PEM CA certificate(s) the daemon's certificate must chain to. Default: the system roots. */
  ca?: Buffer | string | undefined;
  /** PEM client certificate (chain), for a daemon that requires mutual TLS; needs `key`. */
  cert?: Buffer | string | undefined;
  /** PEM private key of `cert`. */
  key?: Buffer | string | undefined;
  /**
   * Name the daemon's certificate must carry. Default: the host part of the address; for a list, of its first entry
   * (grpc-js checks one name per channel, so every gateway's certificate must carry it: set this to a name they share).
   */
  serverName?: string | undefined;
}

export interface AnimatorClientOptions {
  /** Bearer token sent as `authorization` metadata when the daemon requires one. */
  token?: string | undefined;
  /** TLS: true = verified against the system roots; an object = with these settings. Default: plaintext (loopback). */
  tls?: boolean | TlsClientOptions | undefined;
  /** Idle time after which the client pings the daemon. Default CLIENT_DEFAULTS.keepaliveTimeMs (10 s). */
  keepaliveTimeMs?: number | undefined;
  /** How long a ping may go unanswered before the connection (and every call on it) fails. Default 5 s. */
  keepaliveTimeoutMs?: number | undefined;
  /** How long a call waits for the channel to (re)connect before failing UNAVAILABLE; 0 = fail fast. Default 3 s. */
  readyTimeoutMs?: number | undefined;
  /** Longest wait between reconnect attempts while the daemon is away. Default 1 s. */
  reconnectBackoffMaxMs?: number | undefined;
  /** Deadline of each unary call (Cancel, ListModels, health Check), counted once the channel is ready; a call's own
   * `deadlineMs` wins. Default CLIENT_DEFAULTS.unaryDeadlineMs (10 s). */
  unaryDeadlineMs?: number | undefined;
  /**
   * Several gateways only: attempts per call when gateways refuse it with UNAVAILABLE before answering (2–5; grpc-js
   * caps attempts at 5). Default CLIENT_DEFAULTS.gatewayAttempts (5): round_robin hands each attempt to the next
   * gateway, and under concurrent calls a retry may land on the refusing one again, so a few spare attempts help.
   */
  gatewayAttempts?: number | undefined;
}

/** The transport defaults, written once. Frozen-daemon detection takes at most keepaliveTimeMs + keepaliveTimeoutMs. */
export const CLIENT_DEFAULTS = {
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
  readyTimeoutMs: 3_000,
  reconnectBackoffMaxMs: 1_000,
  unaryDeadlineMs: 10_000,
  gatewayAttempts: 5,
  /** The first retry's backoff (grpc-js jitters it ±20% and doubles it per attempt, up to gatewayRetryMaxBackoffMs). */
  gatewayRetryBackoffMs: 50,
  gatewayRetryMaxBackoffMs: 500,
} as const;

/** The Animator service, as a service config names it. */
const ANIMATOR_SERVICE = 'animate.v1.Animator';
/** grpc.health.v1 Check: every daemon serves it, no token needed. */
const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';

/** Per-call options of a unary call. */
export interface UnaryCallOptions {
  /** This call's deadline, ms from when the channel is ready. Default: the connection's unaryDeadlineMs. */
  deadlineMs?: number | undefined;
}

/** grpc.health.v1 serving statuses, as Check answers them. */
export type HealthServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface AnimatorConnection {
  readonly raw: AnimatorClient;
  /** The address this connection dials, as given: HOST:PORT, a comma-separated list, or dns:///HOST:PORT. */
  readonly address: string;
  /** Streams the events of one generation. Aborting the signal cancels the call (the daemon stops the job). */
  generate(request: GenerateRequest, opts?: { signal?: AbortSignal; deadline?: Date }): AsyncIterable<GenerateEvent__Output>;
  /**
   * Cancels a queued or running job. With `requester` (the job's own, as sent in its GenerateRequest) the daemon
   * refuses PERMISSION_DENIED (REQUEST_ID_TAKEN) when the job is someone else's.
   */
  cancel(requestId: string, reason?: string, requester?: Requester, options?: UnaryCallOptions): Promise<CancelResponse__Output>;
  listModels(options?: UnaryCallOptions): Promise<ListModelsResponse__Output>;
  /** grpc.health.v1 Check of `service` (default the Animator service; "" is the whole daemon). No token needed. */
  checkHealth(service?: string, options?: UnaryCallOptions): Promise<HealthServingStatus>;
  /** Resolves when the channel is ready, rejects (DAEMON_UNREACHABLE) after `timeoutMs`. */
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** A gRPC status error made on this side (the call never reached the daemon), shaped like grpc-js's own. */
function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}

/** The empty HealthCheckRequest's encoding is no bytes; a service name is field 1 (length-delimited). */
function encodeHealthCheckRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const name = Buffer.from(service, 'utf8');
  const length: number[] = [];
  for (let n = name.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), name]);
}

/** HealthCheckResponse: field 1 (varint) is the status; absent means UNKNOWN. */
function decodeHealthStatus(bytes: Buffer): HealthServingStatus {
  const names: HealthServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
  return bytes.length >= 2 && bytes[0] === 0x08 ? (names[bytes[1]!] ?? 'UNKNOWN') : 'UNKNOWN';
}

const asBuffer = (v: Buffer | string | undefined): Buffer | null => (v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));

function channelCredentials(tls: AnimatorClientOptions['tls']): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError('tls.cert and tls.key go together: a client certificate needs its private key');
  return grpc.credentials.createSsl(asBuffer(tls.ca), asBuffer(tls.key), asBuffer(tls.cert));
}

/**
 * The grpc-js channel target and the options that go with it. One HOST:PORT is dialled exactly as it always was
 * (pick_first, no retries); several gateways get round_robin and a retry policy for calls refused with UNAVAILABLE.
 */
function channelTarget(target: DaemonTarget, attempts: number): { target: string; options: grpc.ChannelOptions } {
  if (target.kind === 'single') return { target: target.address, options: {} };
  if (target.kind === 'list') registerAddressListResolver();
  const serviceConfig = {
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: [{ service: ANIMATOR_SERVICE }],
        // grpc-js retries only what is not yet committed: a call with no reply headers or message yet. A gateway's
        // refusal is trailers-only, so it is retried; a Generate stream that has sent its first event never is
        // (its job exists; a resend with its request_id follows it instead).
        retryPolicy: {
          maxAttempts: attempts,
          initialBackoff: `${CLIENT_DEFAULTS.gatewayRetryBackoffMs / 1000}s`,
          maxBackoff: `${CLIENT_DEFAULTS.gatewayRetryMaxBackoffMs / 1000}s`,
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
  };
  return {
    target: target.kind === 'list' ? `${ADDRESS_LIST_SCHEME}:${target.entries.map((e) => `${e.host}:${e.port}`).join(',')}` : `${DNS_TARGET_PREFIX}${target.host}:${target.port}`,
    options: {
      'grpc.service_config': JSON.stringify(serviceConfig),
      // Ours is the only service config: a DNS TXT record must not replace it (nor cost a lookup per resolution).
      'grpc.service_config_disable_resolution': 1,
    },
  };
}

function positive(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number of milliseconds ≥ ${min}, got ${value}`);
  return value;
}

export function connectAnimator(address: string, options: AnimatorClientOptions = {}): AnimatorConnection {
  const keepaliveTimeMs = positive('keepaliveTimeMs', options.keepaliveTimeMs, CLIENT_DEFAULTS.keepaliveTimeMs, 1);
  const keepaliveTimeoutMs = positive('keepaliveTimeoutMs', options.keepaliveTimeoutMs, CLIENT_DEFAULTS.keepaliveTimeoutMs, 1);
  const readyTimeoutMs = positive('readyTimeoutMs', options.readyTimeoutMs, CLIENT_DEFAULTS.readyTimeoutMs, 0);
  const backoffMaxMs = positive('reconnectBackoffMaxMs', options.reconnectBackoffMaxMs, CLIENT_DEFAULTS.reconnectBackoffMaxMs, 1);
  const unaryDeadlineMs = positive('unaryDeadlineMs', options.unaryDeadlineMs, CLIENT_DEFAULTS.unaryDeadlineMs, 1);
  const attempts = options.gatewayAttempts ?? CLIENT_DEFAULTS.gatewayAttempts;
  if (!Number.isInteger(attempts) || attempts < 2 || attempts > 5) throw new RangeError(`gatewayAttempts must be a whole number from 2 to 5, got ${attempts}`);
  const parsed = daemonTargetOf('connectAnimator(address)', address);
  const where = describeDaemonTarget(parsed);
  const dial = channelTarget(parsed, attempts);
  const plural = parsed.kind !== 'single';
  const context = (method: DaemonMethod, deadlineMs?: number): CallContext => ({ method, address, where, plural, deadlineMs });
  const { animator } = loadProtos();
  const serverName = typeof options.tls === 'object' ? options.tls.serverName : undefined;
  const raw = new animator.animate.v1.Animator(dial.target, channelCredentials(options.tls), {
    ...dial.options,
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
    'grpc.keepalive_time_ms': keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': keepaliveTimeoutMs,
    // Ping between calls too: a bot's connection sits idle between jobs, and the next job must not find it dead.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': Math.min(250, backoffMaxMs),
    'grpc.max_reconnect_backoff_ms': backoffMaxMs,
    ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
  });
  const metadata = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (options.token) md.set('authorization', `Bearer ${options.token}`);
    return md;
  };

  /**
   * The last connection error, for the message: a call on a channel in TRANSIENT_FAILURE fails at once with it. The
   * probe is a health Check (an empty request): it is outside the Animator retry policy of a multi-gateway channel, so
   * it fails at once there too instead of retrying until its deadline.
   */
  function lastConnectError(): Promise<string | undefined> {
    if (raw.getChannel().getConnectivityState(false) !== grpc.connectivityState.TRANSIENT_FAILURE) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      raw.makeUnaryRequest(HEALTH_CHECK_METHOD, () => Buffer.alloc(0), (b: Buffer) => b, {}, metadata(), { deadline: Date.now() + 500 }, (err) =>
        // round_robin wraps its children's text ("round_robin: No connection established. Last error: No connection
        // established. Last error: …"): keep one layer of it.
        resolve(err ? connectFailureReason(err.details) : undefined),
      );
    });
  }

  /**
   * Undefined when the channel is ready now (the call starts at once, as a plain grpc-js call would); otherwise a
   * promise that resolves once it is, or rejects with UNAVAILABLE (DEADLINE_EXCEEDED when the call's own deadline
   * comes first, CANCELLED when the signal aborts).
   */
  function whenReady(signal?: AbortSignal, callDeadline?: Date): Promise<void> | undefined {
    if (signal?.aborted) return Promise.reject(statusError(grpc.status.CANCELLED, 'Cancelled on client'));
    if (readyTimeoutMs === 0 || raw.getChannel().getConnectivityState(true) === grpc.connectivityState.READY) return undefined;
    const readyBy = Date.now() + readyTimeoutMs;
    const deadline = callDeadline && callDeadline.getTime() < readyBy ? callDeadline.getTime() : readyBy;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(statusError(grpc.status.CANCELLED, 'Cancelled on client'));
      signal?.addEventListener('abort', onAbort, { once: true });
      raw.waitForReady(deadline, (err) => {
        signal?.removeEventListener('abort', onAbort);
        if (!err) return resolve();
        if (deadline !== readyBy) return reject(statusError(grpc.status.DEADLINE_EXCEEDED, `the deadline passed while connecting to ${where}`));
        void lastConnectError().then((last) => {
          const message = unreachableMessage(where, plural, readyTimeoutMs, last);
          const fields = { status: grpc.status.UNAVAILABLE, details: message, metadata: new grpc.Metadata(), daemonCode: undefined, method: 'WaitForReady' as const, address };
          reject(new DaemonCallError(ClientCallCode.DaemonUnreachable, message, fields));
        });
      });
    });
  }

  /** A failure of `method` as the one error callers see (WaitForReady's own becomes the method's). */
  const failed = (method: DaemonMethod, deadlineMs?: number) => (err: unknown) => {
    const coded = toDaemonCallError(err, context(method, deadlineMs));
    if (coded instanceof DaemonCallError && coded.method !== method)
      return Promise.reject(new DaemonCallError(coded.code, coded.message, { ...coded, method }, { cause: coded.cause }));
    return Promise.reject(coded);
  };

  /** A unary call with its own deadline: a daemon that accepts the call and never answers cannot hold the caller. */
  function unary<T>(method: DaemonMethod, callOptions: UnaryCallOptions | undefined, start: (options: grpc.CallOptions, done: (err: grpc.ServiceError | null, res?: T) => void) => void): Promise<T> {
    const deadlineMs = positive(`${method} deadlineMs`, callOptions?.deadlineMs, unaryDeadlineMs, 1);
    const begin = () =>
      new Promise<T>((resolve, reject) =>
        start({ deadline: Date.now() + deadlineMs }, (err, res) => (err || res === undefined ? reject(err ?? new Error('empty reply')) : resolve(res))),
      );
    const ready = whenReady();
    return (ready ? ready.then(begin) : begin()).catch(failed(method, deadlineMs));
  }

  return {
    raw,
    address,
    generate(request, opts = {}) {
      const begin = () => {
        const call = raw.Generate(request, metadata(), opts.deadline ? { deadline: opts.deadline } : {});
        const signal = opts.signal;
        if (signal) {
          if (signal.aborted) call.cancel();
          else {
            // Removed when the call ends: a caller may pass one long-lived signal (a host's shutdown) to every call,
            // which would otherwise keep a closure per call and warn of a listener leak past ten.
            const onAbort = () => call.cancel();
            signal.addEventListener('abort', onAbort, { once: true });
            const forget = () => signal.removeEventListener('abort', onAbort);
            call.once('status', forget);
            call.once('close', forget);
          }
        }
        return call as grpc.ClientReadableStream<GenerateEvent__Output> & AsyncIterable<GenerateEvent__Output>;
      };
      const ready = whenReady(opts.signal, opts.deadline);
      // Ready now: start the call at once, so the request reaches the daemon even before anyone reads the stream.
      // Either way the caller iterates this wrapper: grpc-js's stream does not cancel its call when a reader leaves a
      // for-await early (it has no _destroy), and a call nobody reads would keep a job running on the daemon.
      const started = (ready ? ready.then(begin) : Promise.resolve(begin())).catch(failed('Generate', opts.deadline ? opts.deadline.getTime() - Date.now() : undefined));
      started.catch(() => {}); // a caller that never reads must not see an unhandled rejection; readers get the error
      return {
        async *[Symbol.asyncIterator]() {
          const call = await started;
          let ended = false;
          try {
            for await (const event of call) yield event;
            ended = true;
          } catch (err) {
            throw toDaemonCallError(err, context('Generate'));
          } finally {
            // A reader that stops early (break, throw) ends the call, as with a plain stream.
            if (!ended) call.cancel();
          }
        },
      };
    },
    cancel(requestId, reason = '', requester, callOptions) {
      return unary<CancelResponse__Output>('Cancel', callOptions, (o, done) => raw.Cancel({ requestId, reason, ...(requester ? { requester } : {}) }, metadata(), o, done));
    },
    listModels(callOptions) {
      return unary<ListModelsResponse__Output>('ListModels', callOptions, (o, done) => raw.ListModels({}, metadata(), o, done));
    },
    checkHealth(service = ANIMATOR_SERVICE, callOptions) {
      // A raw call on the Animator channel: no second channel, and health is outside the gateways' retry policy.
      return unary<HealthServingStatus>('Check', callOptions, (o, done) =>
        raw.makeUnaryRequest(HEALTH_CHECK_METHOD, encodeHealthCheckRequest, decodeHealthStatus, service, new grpc.Metadata(), o, done),
      );
    },
    waitForReady(timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        raw.waitForReady(Date.now() + timeoutMs, (err) => {
          if (!err) return resolve();
          void lastConnectError().then((last) => {
            const message = unreachableMessage(where, plural, timeoutMs, last);
            reject(new DaemonCallError(ClientCallCode.DaemonUnreachable, message, { status: grpc.status.UNAVAILABLE, details: message, metadata: new grpc.Metadata(), daemonCode: undefined, method: 'WaitForReady', address }, { cause: err }));
          });
        });
      });
    },
    close() {
      raw.close();
    },
  };
}

/** The one error a failed call rejects with, for users of this module (the package's `client` entry). */
export { ClientCallCode, DaemonCallError, isDaemonCallError } from './rpc-error.ts';

/** True when `err` is a raw gRPC status error (has a numeric `code`): `raw` calls' errors; the methods above reject with DaemonCallError. */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number' && 'details' in err;
}
