// grpc.health.v1: SERVING while the daemon takes requests, NOT_SERVING while it shuts down.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { HealthHandlers } from '../../shared/proto/gen/grpc/health/v1/Health.ts';
import type { HealthCheckRequest__Output } from '../../shared/proto/gen/grpc/health/v1/HealthCheckRequest.ts';
import type { HealthCheckResponse } from '../../shared/proto/gen/grpc/health/v1/HealthCheckResponse.ts';
import { excerpt } from '../excerpt.ts';

export const ANIMATOR_SERVICE_NAME = 'animate.v1.Animator';
type ServingStatus = 'SERVING' | 'NOT_SERVING';

export class HealthState {
  private current: ServingStatus = 'SERVING';
  private readonly watchers = new Set<ServerWritableStream<HealthCheckRequest__Output, HealthCheckResponse>>();

  set(next: ServingStatus): void {
    this.current = next;
    for (const w of this.watchers) w.write({ status: next });
  }

  handlers(): HealthHandlers {
    const known = (service: string) => service === '' || service === ANIMATOR_SERVICE_NAME;
    return {
      Check: (call, callback) => {
        if (!known(call.request.service)) return callback({ code: status.NOT_FOUND, details: `unknown service "${excerpt(call.request.service)}"; known: "${ANIMATOR_SERVICE_NAME}" or ""` });
        callback(null, { status: this.current });
      },
      Watch: (call) => {
        call.write({ status: known(call.request.service) ? this.current : 'SERVICE_UNKNOWN' });
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
      },
    };
  }

  endWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }
}
