// grpc.health.v1: SERVING while the daemon takes requests, NOT_SERVING while it shuts down. Health needs no token
// (probes and load balancers have none), so Watch streams are capped instead, per peer and in all (each holds a
// stream open for as long as its caller likes), and a Watch that comes once shutdown has begun gets its status and
// ends at once rather than holding the server open.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { HealthHandlers } from '../../shared/proto/gen/grpc/health/v1/Health.ts';
import type { HealthCheckRequest__Output } from '../../shared/proto/gen/grpc/health/v1/HealthCheckRequest.ts';
import type { HealthCheckResponse } from '../../shared/proto/gen/grpc/health/v1/HealthCheckResponse.ts';
import { TooManyStreamsError } from '../errors.ts';
import { excerpt } from '../excerpt.ts';
import { toServiceError } from './animator-service.ts';

export const ANIMATOR_SERVICE_NAME = 'animate.v1.Animator';
type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WatchCall = ServerWritableStream<HealthCheckRequest__Output, HealthCheckResponse>;

/** Watch streams open on one client connection (call.getPeer()) at most: a probe needs one. */
export const DEFAULT_MAX_WATCHERS_PER_PEER = 8;
/** Watch streams open in all at most. */
export const DEFAULT_MAX_WATCHERS = 1024;

export interface HealthStateOptions {
  /** See DEFAULT_MAX_WATCHERS_PER_PEER. */
  maxWatchersPerPeer?: number | undefined;
  /** See DEFAULT_MAX_WATCHERS. */
  maxWatchers?: number | undefined;
}

export class HealthState {
  private current: ServingStatus = 'SERVING';
  private closing = false;
  /** Open Watch streams, with their peer and whether they watch a service this daemon serves. */
  private readonly watchers = new Map<WatchCall, { peer: string; known: boolean }>();
  private readonly byPeer = new Map<string, number>();
  readonly maxWatchersPerPeer: number;
  readonly maxWatchers: number;

  constructor(options: HealthStateOptions = {}) {
    this.maxWatchersPerPeer = options.maxWatchersPerPeer ?? DEFAULT_MAX_WATCHERS_PER_PEER;
    this.maxWatchers = options.maxWatchers ?? DEFAULT_MAX_WATCHERS;
  }

  /** Watch streams open now (tests and logs). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** True while the daemon reports SERVING. */
  get serving(): boolean {
    return this.current === 'SERVING';
  }

  set(next: ServingStatus): void {
    // Shutting down is for good: a cluster gateway whose Redis comes back meanwhile stays NOT_SERVING.
    if (this.closing && next === 'SERVING') return;
    this.current = next;
    // A watcher of an unknown service was told SERVICE_UNKNOWN; the daemon's state is none of its business.
    for (const [w, { known }] of this.watchers) if (known) w.write({ status: next });
  }

  /** Shutdown has begun: NOT_SERVING to every watcher, and each Watch from now on is answered and ended at once. */
  beginShutdown(): void {
    this.closing = true;
    this.set('NOT_SERVING');
  }

  handlers(): HealthHandlers {
    const known = (service: string) => service === '' || service === ANIMATOR_SERVICE_NAME;
    return {
      Check: (call, callback) => {
        if (!known(call.request.service)) return callback({ code: status.NOT_FOUND, details: `unknown service "${excerpt(call.request.service)}"; known: "${ANIMATOR_SERVICE_NAME}" or ""` });
        callback(null, { status: this.current });
      },
      Watch: (call) => {
        const isKnown = known(call.request.service);
        const first = { status: isKnown ? this.current : 'SERVICE_UNKNOWN' } as const;
        if (this.closing) {
          call.write(first);
          call.end();
          return;
        }
        const peer = call.getPeer();
        const onPeer = this.byPeer.get(peer) ?? 0;
        const refusal =
          onPeer >= this.maxWatchersPerPeer
            ? `this connection already has ${this.maxWatchersPerPeer} health Watch streams open (the most allowed)`
            : this.watchers.size >= this.maxWatchers
              ? `the daemon already has ${this.maxWatchers} health Watch streams open (the most allowed); use Check, or try again later`
              : undefined;
        if (refusal) {
          call.emit('error', toServiceError(new TooManyStreamsError(refusal)));
          return;
        }
        this.watchers.set(call, { peer, known: isKnown });
        this.byPeer.set(peer, onPeer + 1);
        call.write(first);
        call.on('cancelled', () => this.forget(call));
        // A caller that went away before this handler ran gets no 'cancelled' event.
        if (call.cancelled) this.forget(call);
      },
    };
  }

  /** Ends every Watch (the last step of shutdown); any Watch after this is ended at once too. */
  endWatches(): void {
    this.closing = true;
    for (const w of [...this.watchers.keys()]) {
      this.forget(w);
      w.end();
    }
  }

  private forget(call: WatchCall): void {
    const entry = this.watchers.get(call);
    if (!entry) return;
    this.watchers.delete(call);
    const n = (this.byPeer.get(entry.peer) ?? 1) - 1;
    if (n > 0) this.byPeer.set(entry.peer, n);
    else this.byPeer.delete(entry.peer);
  }
}
