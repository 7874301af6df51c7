// A thin, typed client for the Animator service, used by the CLI, the bots and the tests.
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from './proto.ts';
import type { AnimatorClient, GenerateEvent__Output, GenerateRequest, ListModelsResponse__Output, CancelResponse__Output } from './types.ts';

export interface AnimatorClientOptions {
  /** Bearer token sent as `authorization` metadata when the daemon requires one. */
  token?: string | undefined;
  /** Use TLS credentials (for a remote daemon behind TLS). Default: insecure (loopback / private network). */
  tls?: boolean | undefined;
}

export interface AnimatorConnection {
  readonly raw: AnimatorClient;
  /** Streams the events of one generation. Aborting the signal cancels the call (the daemon stops the job). */
  generate(request: GenerateRequest, opts?: { signal?: AbortSignal; deadline?: Date }): AsyncIterable<GenerateEvent__Output>;
  cancel(requestId: string, reason?: string): Promise<CancelResponse__Output>;
  listModels(): Promise<ListModelsResponse__Output>;
  /** Resolves when the channel is ready, rejects after `timeoutMs`. */
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

export function connectAnimator(address: string, options: AnimatorClientOptions = {}): AnimatorConnection {
  const { animator } = loadProtos();
  const credentials = options.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const raw = new animator.animate.v1.Animator(address, credentials, {
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
  });
  const metadata = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (options.token) md.set('authorization', `Bearer ${options.token}`);
    return md;
  };

  return {
    raw,
    generate(request, opts = {}) {
      const callOptions: grpc.CallOptions = opts.deadline ? { deadline: opts.deadline } : {};
      const call = raw.Generate(request, metadata(), callOptions);
      if (opts.signal) {
        if (opts.signal.aborted) call.cancel();
        else opts.signal.addEventListener('abort', () => call.cancel(), { once: true });
      }
      return call as AsyncIterable<GenerateEvent__Output>;
    },
    cancel(requestId, reason = '') {
      return new Promise((resolve, reject) => {
        raw.Cancel({ requestId, reason }, metadata(), (err, res) => (err || !res ? reject(err ?? new Error('empty reply')) : resolve(res)));
      });
    },
    listModels() {
      return new Promise((resolve, reject) => {
        raw.ListModels({}, metadata(), (err, res) => (err || !res ? reject(err ?? new Error('empty reply')) : resolve(res)));
      });
    },
    waitForReady(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
      });
    },
    close() {
      raw.close();
    },
  };
}

/** True when `err` is a gRPC status error (has a numeric `code`). */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number' && 'details' in err;
}
