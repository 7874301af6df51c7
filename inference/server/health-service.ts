// grpc.health.v1 through grpc-health-check's HealthImplementation (the status per service name, Check, Watch, List),
// with what the daemon adds around it: SERVING while the daemon takes requests, NOT_SERVING while it shuts down or a
// cluster gateway has lost its queue (HealthState.set, called by cluster-node's onServing). Health needs no token
// (probes and load balancers have none), so Watch streams are capped, per peer and in all (each holds a stream open
// for as long as its caller likes); a Watch that comes once shutdown has begun gets its status and ends at once rather
// than holding the server open; and an unknown service's name is echoed capped (a 1 MiB name must not come back).
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { HealthHandlers } from '../../shared/proto/gen/grpc/health/v1/Health.ts';
import type { HealthCheckRequest__Output } from '../../shared/proto/gen/grpc/health/v1/HealthCheckRequest.ts';
import type { HealthCheckResponse } from '../../shared/proto/gen/grpc/health/v1/HealthCheckResponse.ts';
import { TooManyStreamsError } from '../errors.ts';
import { excerpt } from '../excerpt.ts';
import { toServiceError } from './animator-service.ts';

export const ANIMATOR_SERVICE_NAME = 'animate.v1.Animator';
/** The names this daemon reports a status for: the whole server ("") and the Animator service. */
export const HEALTH_SERVICE_NAMES = ['', ANIMATOR_SERVICE_NAME] as const;
type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WatchCall = ServerWritableStream<HealthCheckRequest__Output, HealthCheckResponse>;
type CheckCall = ServerUnaryCall<HealthCheckRequest__Output, HealthCheckResponse>;
type LibraryHandlers = {
  check: (call: CheckCall, callback: sendUnaryData<HealthCheckResponse>) => void;
  watch: (call: WatchCall) => void;
  list: HealthHandlers['List'];
};

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

const known = (service: string) => (HEALTH_SERVICE_NAMES as readonly string[]).includes(service);

export class HealthState {
  private current: ServingStatus = 'SERVING';
  /** Shutdown has begun: SERVING never comes back, and a new Watch is answered and ended at once. */
  private closing = false;
  /** Every Watch was ended: the library's watchers of them must never be written to again. */
  private ended = false;
  private readonly health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICE_NAMES.map((name) => [name, 'SERVING'])));
  /** The library's own handlers, taken from its addToServer (it registers them on whatever it is handed). */
  private readonly library: LibraryHandlers;
  /** Open Watch streams with their peer (the library tracks watchers per service, not per connection). */
  private readonly watchers = new Map<WatchCall, string>();
  private readonly byPeer = new Map<string, number>();
  readonly maxWatchersPerPeer: number;
  readonly maxWatchers: number;

  constructor(options: HealthStateOptions = {}) {
    this.maxWatchersPerPeer = options.maxWatchersPerPeer ?? DEFAULT_MAX_WATCHERS_PER_PEER;
    this.maxWatchers = options.maxWatchers ?? DEFAULT_MAX_WATCHERS;
    let captured: LibraryHandlers | undefined;
    this.health.addToServer({ addService: (_definition, implementation) => (captured = implementation as unknown as LibraryHandlers) });
    if (!captured) throw new Error('grpc-health-check registered no handlers');
    this.library = captured;
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
    if (next === this.current || this.ended) return;
    this.current = next;
    // The library tells the watchers of each name; a watcher of an unknown service was told SERVICE_UNKNOWN and
    // hears nothing more (the daemon's state is none of its business).
    for (const name of HEALTH_SERVICE_NAMES) this.health.setStatus(name, next);
  }

  /** Shutdown has begun: NOT_SERVING to every watcher, and each Watch from now on is answered and ended at once. */
  beginShutdown(): void {
    this.set('NOT_SERVING');
    this.closing = true;
  }

  /** Handlers for the service of proto/grpc/health/v1/health.proto (the same file grpc-health-check ships). */
  handlers(): HealthHandlers {
    return {
      Check: (call, callback) => {
        // The library's NOT_FOUND echoes the name whole; ours is capped and says what is known.
        if (!known(call.request.service)) return callback({ code: status.NOT_FOUND, details: `unknown service "${excerpt(call.request.service)}"; known: "${ANIMATOR_SERVICE_NAME}" or ""` });
        this.library.check(call, callback);
      },
      List: (call, callback) => this.library.list(call, callback),
      Watch: (call) => {
        if (this.closing) {
          call.write({ status: known(call.request.service) ? this.current : 'SERVICE_UNKNOWN' });
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
        this.watchers.set(call, peer);
        this.byPeer.set(peer, onPeer + 1);
        call.on('cancelled', () => this.forget(call));
        this.library.watch(call); // writes the current status, and each change after it
        // A caller that went away before this handler ran gets no 'cancelled' event.
        if (call.cancelled) {
          this.forget(call);
          call.emit('cancelled', 'cancelled'); // the library forgets its watcher on this event only
        }
      },
    };
  }

  /** Ends every Watch (the last step of shutdown); any Watch after this is ended at once too. */
  endWatches(): void {
    this.closing = true;
    this.ended = true;
    for (const w of [...this.watchers.keys()]) {
      this.forget(w);
      w.end();
    }
  }

  private forget(call: WatchCall): void {
    const peer = this.watchers.get(call);
    if (peer === undefined) return;
    this.watchers.delete(call);
    const n = (this.byPeer.get(peer) ?? 1) - 1;
    if (n > 0) this.byPeer.set(peer, n);
    else this.byPeer.delete(peer);
  }
}
