// The client reaching several gateways (issue #21): ANIMATE_DAEMON_ADDRESS / --daemon / connectAnimator take one
// HOST:PORT, a comma-separated list or a dns:/// name; calls spread over the gateways (round_robin), and one that
// refuses new calls with UNAVAILABLE (draining: NOT_SERVING) is skipped by grpc-js's retry. Real daemons on loopback,
// counted by their own report hook; the single-process daemon stands in for a gateway.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { loadProtos } from '../../shared/rpc/proto.ts';
import type { DaemonCallError } from '../../shared/rpc/rpc-error.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { VARIABLES } from '../../shared/config/variables.ts';
import { ConfigError, readSetting } from '../../shared/config/index.ts';
import { DAEMON_ADDRESS_FORMS, DaemonAddressError, describeDaemonTarget, parseDaemonTarget } from '../../shared/wire/address.ts';
import { collect, collectSettled, follow, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import type { FixtureOptions } from '../fixtures/fixture-model.ts';

const run = promisify(execFile);

/** A loopback port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
const TSX = path.resolve('node_modules/.bin/tsx');

/** A fixture daemon that counts the generations it finished (its report hook). */
async function countingDaemon(fixture: FixtureOptions = {}): Promise<{ fx: FixtureDaemon; done: string[] }> {
  const done: string[] = [];
  const fx = await startFixtureDaemon({ fixture, daemon: { onGenerationReport: (_report: unknown, job: { id: string }) => done.push(job.id) } });
  return { fx, done };
}

/** Each denoiser call burns ~50 ms, and jobs may be long: a 400-step job holds its gateway for about 20 s. */
const SLOW: FixtureOptions = { burnMs: 50, limits: { max_steps: 400 } };

function req(user: string, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { prompt: 'a red ball', steps: 2, seed: 1, preview: { disabled: true }, requester: { userId: user, platform: 'DISCORD' }, ...extra };
}

const opened: AnimatorConnection[] = [];
function connect(address: string): AnimatorConnection {
  const c = connectAnimator(address, { readyTimeoutMs: 5_000 });
  opened.push(c);
  return c;
}

/** round_robin picks only among connected gateways: let every subchannel connect before counting where calls went. */
async function warm(client: AnimatorConnection): Promise<void> {
  await client.waitForReady(10_000);
  await client.listModels();
  await new Promise((r) => setTimeout(r, 300));
}

let a: Awaited<ReturnType<typeof countingDaemon>>;
let b: Awaited<ReturnType<typeof countingDaemon>>;
beforeAll(async () => {
  a = await countingDaemon();
  b = await countingDaemon();
});
afterEach(() => {
  a.done.length = 0;
  b.done.length = 0;
});
afterAll(async () => {
  for (const c of opened) c.close();
  await Promise.all([a?.fx.close(), b?.fx.close()]);
});

describe('a list of gateways', () => {
  it('spreads 10 Generate calls over both daemons, all succeeding', async () => {
    const client = connect(`${a.fx.daemon.address},${b.fx.daemon.address}`);
    await warm(client);
    const ends = await Promise.all(Array.from({ length: 10 }, (_, i) => collect(client.generate(req(`u${i}`, { requestId: `spread-${i}` })))));
    expect(ends.every((events) => events.at(-1)?.done?.steps === 2)).toBe(true);
    console.log(`10 calls over two gateways: ${a.done.length} on the first, ${b.done.length} on the second`);
    expect(a.done.length + b.done.length).toBe(10);
    expect(a.done.length).toBeGreaterThan(0);
    expect(b.done.length).toBeGreaterThan(0);
  });

  it('takes host names: localhost:P1,localhost:P2', async () => {
    const client = connect(`localhost:${a.fx.daemon.port},localhost:${b.fx.daemon.port}`);
    await warm(client);
    const ends = await Promise.all(Array.from({ length: 6 }, (_, i) => collect(client.generate(req(`n${i}`)))));
    expect(ends.filter((events) => events.at(-1)?.done).length).toBe(6);
    console.log(`6 calls over localhost names: ${a.done.length} / ${b.done.length}`);
    expect(a.done.length).toBeGreaterThan(0);
    expect(b.done.length).toBeGreaterThan(0);
  });

  it('names the gateways when none can be reached', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const client = connectAnimator(`127.0.0.1:${p1},127.0.0.1:${p2}`, { readyTimeoutMs: 800 });
    opened.push(client);
    const err = await client.listModels().then(() => undefined, (e: unknown) => e);
    // One coded error with a message for people (shared/rpc/rpc-error.ts), not grpc-js's raw text.
    expect([(err as DaemonCallError).code, (err as DaemonCallError).status, (err as DaemonCallError).method]).toEqual(['DAEMON_UNREACHABLE', grpc.status.UNAVAILABLE, 'ListModels']);
    expect((err as Error).message).toBe(
      `the gateways at 127.0.0.1:${p1}, 127.0.0.1:${p2} are unreachable: no connection within 800 ms (connection refused: nothing listens there). Start the daemon (npm run daemon), or set ANIMATE_DAEMON_ADDRESS to the HOST:PORT of one that runs.`,
    );
  });
});

describe('a draining gateway is skipped', () => {
  let slow: Awaited<ReturnType<typeof countingDaemon>> | undefined;
  afterAll(async () => {
    await slow?.fx.close();
  });

  it('is NOT_SERVING and refuses UNAVAILABLE (SHUTTING_DOWN); 6 new calls all succeed on the other gateway', async () => {
    slow = await countingDaemon(SLOW);
    const long = follow(slow.fx.client.generate(req('long', { requestId: 'long', steps: 400 })));
    await long.until((e) => !!e.started);
    const closing = slow.fx.daemon.close({ graceMs: 120_000 });

    // The setup is what the cluster's gateways do when they lose Redis: health NOT_SERVING, new calls refused at once.
    const { health } = loadProtos();
    const hc = new health.grpc.health.v1.Health(slow.fx.daemon.address, grpc.credentials.createInsecure());
    const checked = await new Promise<{ status: string }>((resolve, reject) => hc.Check({ service: 'animate.v1.Animator' }, (e, r) => (e || !r ? reject(e) : resolve(r as { status: string }))));
    hc.close();
    expect(checked.status).toBe('NOT_SERVING');
    const refused = await collectSettled(slow.fx.client.generate(req('x')));
    expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.error?.metadata?.get('animate-error-code')).toEqual(['SHUTTING_DOWN']);

    const client = connect(`${slow.fx.daemon.address},${b.fx.daemon.address}`);
    await warm(client);
    const t0 = performance.now();
    const ends = await Promise.all(Array.from({ length: 6 }, (_, i) => collectSettled(client.generate(req(`d${i}`, { requestId: `drain-${i}` })))));
    console.log(`6 calls with one gateway draining: ${ends.filter((e) => !e.error).length} succeeded in ${(performance.now() - t0).toFixed(0)} ms; errors: ${JSON.stringify(ends.filter((e) => e.error).map((e) => e.error?.details))}`);
    expect(ends.map((e) => e.error?.code)).toEqual(Array(6).fill(undefined));
    expect(b.done.length).toBe(6);
    expect(slow.done.length).toBe(0); // the long job is still running there, and nothing else started

    await slow.fx.client.cancel('long');
    expect((await long.settled).error?.code).toBe(grpc.status.CANCELLED);
    await closing;
  });

  it('a stream that already had its first event is not replayed elsewhere when its gateway ends it UNAVAILABLE', async () => {
    // One job runs on the first gateway and a second waits behind it (concurrency 1); the gateway shuts down: the
    // waiting job's stream, which has seen `queued`, ends UNAVAILABLE and is not retried on the other gateway (a retry
    // there would be a second job for one request).
    const first = await countingDaemon(SLOW);
    try {
      const client = connect(`${first.fx.daemon.address},${b.fx.daemon.address}`);
      await warm(client);
      // The long job goes to `first` by its own single-address client.
      const running = follow(first.fx.client.generate(req('r', { steps: 400 })));
      await running.until((e) => !!e.started);
      // round_robin alternates: of two calls one lands on each gateway. The one on `first` waits behind the long job
      // (it cannot start there for ~20 s); the one on `b` starts at once.
      const calls = [0, 1].map((i) => follow(client.generate(req(`w${i}`, { steps: 40, requestId: `wait-${i}` }))));
      await Promise.all(calls.map((f) => f.until(() => true)));
      await new Promise((r) => setTimeout(r, 500));
      const notStarted = calls.filter((f) => !f.events.some((e) => e.started));
      expect(notStarted, 'exactly one call waits on the busy gateway').toHaveLength(1);
      const waiting = notStarted[0]!;
      expect(waiting.events.some((e) => e.queued)).toBe(true);
      await calls.find((f) => f !== waiting)!.settled;
      const bBefore = b.done.length;
      await first.fx.daemon.close({ graceMs: 0 });
      const end = await waiting.settled;
      expect(end.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(end.events.filter((e) => e.started)).toHaveLength(0);
      expect(b.done.length).toBe(bBefore);
    } finally {
      await first.fx.close();
    }
  });
});

describe('dns:///', () => {
  it('dns:///localhost:PORT reaches the daemon', async () => {
    const client = connect(`dns:///localhost:${a.fx.daemon.port}`);
    const events = await collect(client.generate(req('dns')));
    expect(events.at(-1)?.done?.steps).toBe(2);
    expect(a.done.length).toBe(1);
    expect(client.address).toBe(`dns:///localhost:${a.fx.daemon.port}`);
  });
});

describe('the address-list rule', () => {
  const row = VARIABLES.find((v) => v.name === 'ANIMATE_DAEMON_ADDRESS')!;
  const refused = (value: string): string => {
    try {
      readSetting({ ANIMATE_DAEMON_ADDRESS: value }, 'ANIMATE_DAEMON_ADDRESS');
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error(`ANIMATE_DAEMON_ADDRESS=${value} was accepted`);
  };

  it('accepts one HOST:PORT, a list and a dns:/// name', () => {
    for (const ok of ['127.0.0.1:50051', 'a:1,b:2', 'gw1.lan:50051, gw2.lan:50051 ,[::1]:7', 'dns:///gateways.internal:50051', 'dns:///[::1]:50051'])
      expect(row.schema.safeParse(ok).success, ok).toBe(true);
    expect(parseDaemonTarget('a:1, [::1]:2')).toEqual({ target: { kind: 'list', entries: [{ host: 'a', port: 1 }, { host: '[::1]', port: 2 }] } });
    expect(parseDaemonTarget('dns:///g:5')).toEqual({ target: { kind: 'dns', host: 'g', port: 5 } });
    expect(parseDaemonTarget('g:5')).toEqual({ target: { kind: 'single', address: 'g:5' } });
    expect(row.accepts).toBe(DAEMON_ADDRESS_FORMS);
  });

  it('refuses bad lists naming ANIMATE_DAEMON_ADDRESS, the fault and what it accepts', () => {
    const tail = `; accepts ${DAEMON_ADDRESS_FORMS}.`;
    expect(refused('a:1,,b:2')).toContain(`ANIMATE_DAEMON_ADDRESS has an empty entry 2 of 3 (a stray comma); each entry must be HOST:PORT (got "a:1,,b:2")${tail}`);
    expect(refused('a:1,')).toContain('ANIMATE_DAEMON_ADDRESS has an empty entry 2 of 2');
    expect(refused('a:1,b:70000')).toContain(`ANIMATE_DAEMON_ADDRESS entry 2 of 2 ("b:70000") has a port above 65535 (got "a:1,b:70000")${tail}`);
    expect(refused('a:1,b')).toContain('ANIMATE_DAEMON_ADDRESS entry 2 of 2 ("b") must be HOST:PORT, e.g. 127.0.0.1:50051');
    expect(refused('dns:///a:1,b:2')).toContain('ANIMATE_DAEMON_ADDRESS mixes a dns:/// name with a list');
    expect(refused('a:1,dns:///b:2')).toContain('ANIMATE_DAEMON_ADDRESS mixes a dns:/// name with a list (entry 2 of 2)');
    expect(refused('dns://8.8.8.8/a:1')).toContain('ANIMATE_DAEMON_ADDRESS must be written dns:///HOST:PORT');
    expect(refused('dns:///a')).toContain('ANIMATE_DAEMON_ADDRESS must be dns:///HOST:PORT with a port');
    expect(refused('a:1,A:1')).toContain('ANIMATE_DAEMON_ADDRESS lists A:1 twice');
    // One HOST:PORT keeps its message.
    expect(refused('localhost')).toContain(`ANIMATE_DAEMON_ADDRESS must be HOST:PORT, e.g. 127.0.0.1:50051 (got "localhost")${tail}`);
  });

  it('connectAnimator refuses a bad address with a coded error before dialling', () => {
    let err: unknown;
    try {
      connectAnimator('a:1,,b:2');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DaemonAddressError);
    expect(err).toMatchObject({ code: 'INVALID_DAEMON_ADDRESS' });
    expect((err as Error).message).toMatch(/^connectAnimator\(address\) has an empty entry 2 of 3/);
  });

  it('messages keep a long list short', () => {
    const list = parseDaemonTarget(Array.from({ length: 12 }, (_, i) => `gw${i}.lan:50051`).join(','));
    expect('target' in list && describeDaemonTarget(list.target)).toBe('the gateways at gw0.lan:50051, gw1.lan:50051, gw2.lan:50051 and 9 more');
  });

  it('the CLI checks --daemon with the same rule', async () => {
    const res = await run(TSX, ['inference/cli/animate.ts', 'a red ball', '--daemon', 'a:1,,b:2', '--quiet'], { timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`--daemon has an empty entry 2 of 3 (a stray comma); each entry must be HOST:PORT (got "a:1,,b:2"); accepts ${DAEMON_ADDRESS_FORMS}.`);
  });
});
