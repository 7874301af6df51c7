// grpc.health.v1 alone (inference/server/health-service.ts) on a real gRPC server on loopback: Watch streams are
// capped per connection and in all, NOT_SERVING reaches only watchers of a service the daemon serves, and once
// shutdown has begun a Watch is answered and ended at once instead of holding the server open.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ANIMATOR_SERVICE_NAME, DEFAULT_MAX_WATCHERS, DEFAULT_MAX_WATCHERS_PER_PEER, HealthState } from '../../inference/server/health-service.ts';
import { loadProtos } from '../../shared/rpc/proto.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';

type HealthClient = InstanceType<ReturnType<typeof loadProtos>['health']['grpc']['health']['v1']['Health']>;

interface Watching {
  statuses: string[];
  /** Settles when the stream ends: 'end', or the gRPC error. */
  ended: Promise<'end' | grpc.ServiceError>;
  call: grpc.ClientReadableStream<unknown>;
}

const opened: Array<{ close(): void }> = [];
afterEach(() => {
  for (const c of opened.splice(0).reverse()) c.close();
});

async function serve(state: HealthState): Promise<string> {
  const server = new grpc.Server();
  server.addService(loadProtos().health.grpc.health.v1.Health.service, state.handlers());
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  opened.push({ close: () => server.forceShutdown() });
  return `127.0.0.1:${port}`;
}

/** A client on its own connection (no shared subchannel), so each one is a peer of its own. */
function connect(address: string): HealthClient {
  const client = new (loadProtos().health.grpc.health.v1.Health)(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  opened.push(client);
  return client;
}

function watch(client: HealthClient, service = ''): Watching {
  const statuses: string[] = [];
  const call = client.Watch({ service });
  call.on('data', (r: { status: string }) => statuses.push(r.status));
  const ended = new Promise<'end' | grpc.ServiceError>((resolve) => {
    call.on('end', () => resolve('end'));
    call.on('error', (e: grpc.ServiceError) => resolve(e));
  });
  return { statuses, ended, call: call as unknown as grpc.ClientReadableStream<unknown> };
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`${what}: not within 2 s`);
};

describe('health Watch', () => {
  it('documents its defaults', () => {
    const state = new HealthState();
    expect([state.maxWatchersPerPeer, state.maxWatchers]).toEqual([DEFAULT_MAX_WATCHERS_PER_PEER, DEFAULT_MAX_WATCHERS]);
    expect(DEFAULT_MAX_WATCHERS_PER_PEER).toBeLessThan(DEFAULT_MAX_WATCHERS);
  });

  it('caps watchers per connection and in all with RESOURCE_EXHAUSTED (TOO_MANY_STREAMS); an ended one frees its slot', async () => {
    const state = new HealthState({ maxWatchersPerPeer: 2, maxWatchers: 3 });
    const address = await serve(state);
    const a = connect(address);
    const a1 = watch(a);
    const a2 = watch(a);
    await until(() => a1.statuses.length === 1 && a2.statuses.length === 1, 'two watches on one connection');
    const a3 = await watch(a).ended;
    expect((a3 as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((a3 as grpc.ServiceError).details).toMatch(/this connection already has 2 health Watch streams open/);
    expect((a3 as grpc.ServiceError).metadata.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.TooManyStreams]);
    // Another connection: one more fits the total of 3, the next does not.
    const b = connect(address);
    const b1 = watch(b);
    await until(() => b1.statuses.length === 1, 'a watch on a second connection');
    const b2 = await watch(b).ended;
    expect((b2 as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((b2 as grpc.ServiceError).details).toMatch(/the daemon already has 3 health Watch streams open/);
    expect(state.watcherCount).toBe(3);
    a1.call.cancel();
    await until(() => state.watcherCount === 2, 'the cancelled watch forgotten');
    const a4 = watch(a);
    await until(() => a4.statuses.length === 1, 'a watch in the freed slot');
    expect(a4.statuses).toEqual(['SERVING']);
  });

  it('NOT_SERVING reaches watchers of the daemon, not those of an unknown service', async () => {
    const state = new HealthState();
    const c = connect(await serve(state));
    const mine = watch(c, ANIMATOR_SERVICE_NAME);
    const all = watch(c, '');
    const other = watch(c, 'someone.else.Service');
    await until(() => mine.statuses.length + all.statuses.length + other.statuses.length === 3, 'first answers');
    state.beginShutdown();
    await until(() => mine.statuses.length === 2 && all.statuses.length === 2, 'NOT_SERVING told');
    await new Promise((r) => setTimeout(r, 50));
    expect(mine.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(all.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(other.statuses).toEqual(['SERVICE_UNKNOWN']);
    state.endWatches();
    expect(await Promise.all([mine.ended, all.ended, other.ended])).toEqual(['end', 'end', 'end']);
    expect(state.watcherCount).toBe(0);
  });

  it('once shutdown has begun, a Watch gets NOT_SERVING and ends at once; after endWatches too', async () => {
    const state = new HealthState();
    const c = connect(await serve(state));
    state.beginShutdown();
    const late = watch(c);
    expect(await late.ended).toBe('end');
    expect(late.statuses).toEqual(['NOT_SERVING']);
    expect(state.watcherCount).toBe(0);
    state.endWatches();
    const later = watch(c, 'someone.else.Service');
    expect(await later.ended).toBe('end');
    expect(later.statuses).toEqual(['SERVICE_UNKNOWN']);
  });
});
