// Issue #21, what holds across gateways, with each gateway a process of its own on one Redis:
// - places in line are cluster-wide: jobs queued through two gateways behind one busy worker are told positions that,
//   together, are 1..N once each, and move down as jobs start (a gateway counting only its own jobs would tell two
//   people "1");
// - the queue caps are cluster-wide: with --max-queue 2 and --max-queue-per-user 1 (here as ANIMATE_MAX_QUEUE and
//   ANIMATE_MAX_QUEUE_PER_USER), a person's second waiting job is refused on the other gateway, another person's is
//   admitted, and a third waiting job is refused on either gateway, each RESOURCE_EXHAUSTED QUEUE_FULL with a
//   retry-after-ms trailer;
// - a client given several gateways skips one that lost its Redis (NOT_SERVING, refuses UNAVAILABLE): two Redis
//   servers stand for "one gateway's Redis is gone", and every call is served by the gateway whose Redis is alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { collectSettled, follow } from '../helpers/fixture-daemon.ts';
import {
  describeJob,
  errorCodeOf,
  healthStatus,
  jobRecord,
  recordedEvents,
  startClusterDaemon,
  startTestCluster,
  summarize,
  waitFor,
  within,
  type ClusterDaemon,
  type TestCluster,
} from '../helpers/cluster-processes.ts';
import { startLocalRedis } from '../../tools/cluster/local-redis.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output, GenerateRequest, Requester } from '../../shared/rpc/types.ts';
import { RETRY_AFTER_TRAILER } from '../../shared/wire/error-codes.ts';

/** About 100 ms of burn per denoiser call: the job that holds the worker lasts long past the checks behind it. */
const HOLD_STEPS = 100;
const SLOW = { name: 'slow', burnMs: 100, limits: { max_steps: HOLD_STEPS } };
/** Jobs queued behind the hold: long enough (≥ 2 s) that the once-a-second line tick sees each place change. */
const QUEUED_STEPS = 20;
const SHORT_STEPS = 2;
/** The capped gateways' settings. */
const CAPS = { ANIMATE_MAX_QUEUE: '2', ANIMATE_MAX_QUEUE_PER_USER: '1' };
/** How long a place-in-line notice may take (the tick is 1 s; generous for 2 loaded cores). */
const NOTICE_MS = 10_000;

const person = (userId: string): Requester => ({ userId, platform: 'PLAYGROUND' });
const request = (requestId: string, userId: string, steps: number): GenerateRequest => ({
  requestId,
  prompt: 'an orange kite flies over the beach',
  seed: 5,
  steps,
  frames: 5,
  width: 32,
  height: 32,
  preview: { disabled: true },
  requester: person(userId),
});
const queuedEvents = (events: GenerateEvent__Output[]) => events.filter((e) => e.queued).map((e) => e.queued!);
const denoising = (e: GenerateEvent__Output) => e.progress?.stage === 'denoise';

let cluster: TestCluster | undefined;
/** Default caps: g[0], g[1]; capped: g[2], g[3]. */
let gateways: ClusterDaemon[];
let clients: AnimatorConnection[];
beforeAll(async () => {
  cluster = await startTestCluster({ fixture: SLOW });
  const c = cluster;
  const started = await Promise.all([c.start('gateway'), c.start('gateway'), c.start('gateway', { env: CAPS }), c.start('gateway', { env: CAPS }), c.start('worker')]);
  gateways = started.slice(0, 4);
  clients = gateways.map((g) => c.connect(g));
});
afterAll(async () => {
  await cluster?.close();
});

describe('places in line across gateways', () => {
  it('jobs queued through two gateways are told places 1..N once each, which move down as jobs start', async () => {
    const redis = cluster!.inspect();
    const [one, two] = clients as [AnimatorConnection, AnimatorConnection];
    const hold = follow(one.generate(request('line-hold', 'lee', HOLD_STEPS)));
    await within(hold.until(denoising), 30_000, 'the hold job to be denoising');

    // One person each, so the fair rounds tie and the line is arrival order; sent through both gateways in turn.
    const users = ['ann', 'bob', 'cara', 'dan'];
    const N = users.length;
    const jobs = users.map((u, i) => ({ id: `line-${u}`, gateway: i % 2, stream: follow(clients[i % 2]!.generate(request(`line-${u}`, u, QUEUED_STEPS))) }));
    await within(Promise.all(jobs.map((j) => j.stream.until((e) => !!e.queued))), NOTICE_MS, 'every waiting job to be told its place');

    const first = jobs.map((j) => ({ ...j, told: queuedEvents(j.stream.events)[0]! }));
    for (const j of first) console.log(`${j.id} via gateway ${j.gateway + 1}: position ${j.told.position} of ${j.told.queueLength}, eta ${j.told.etaSeconds.toFixed(1)} s`);
    expect(first.map((j) => j.told.position).sort((a, b) => a - b), 'places 1..N, no duplicates').toEqual([1, 2, 3, 4]);
    expect(new Set(first.filter((j) => j.gateway === 0).map((j) => j.told.position)).size + new Set(first.filter((j) => j.gateway === 1).map((j) => j.told.position)).size).toBe(N);
    for (const j of first) {
      expect(j.told.queueLength, `${j.id}: length`).toBeGreaterThanOrEqual(j.told.position);
      expect(j.told.queueLength, `${j.id}: length`).toBeLessThanOrEqual(N);
      expect(j.told.etaSeconds, `${j.id}: eta`).toBeGreaterThan(0);
    }
    // The last in line was told its place after everyone was admitted: the whole line's length.
    expect(first.find((j) => j.told.position === N)!.told.queueLength).toBe(N);
    expect(hold.events.some((e) => e.done), 'the hold job was still running').toBe(false);

    // The hold job ends (cancelled from the other gateway): the first in line starts, everyone behind moves down one.
    expect(await two.cancel('line-hold', 'make way', person('lee'))).toEqual({ cancelled: true, state: 'running' });
    expect((await within(hold.settled, 15_000, 'the hold stream to end')).error?.code).toBe(status.CANCELLED);
    const movedFrom = performance.now();
    // Each job behind the first is told a place one nearer, unless it starts first: on a loaded machine the next in
    // line can start before the once-a-second tick tells it "1" (its Started says more than a place would).
    await within(
      Promise.all(first.filter((j) => j.told.position > 1).map((j) => j.stream.until((e) => e.queued?.position === j.told.position - 1 || !!e.started))),
      NOTICE_MS,
      'everyone behind the first to be told a place one nearer, or to start',
    );
    console.log(`places moved down ${Math.round(performance.now() - movedFrom)} ms after the hold job was cancelled`);
    const movedDown = first.filter((x) => x.told.position > 1 && queuedEvents(x.stream.events).some((q) => q.position === x.told.position - 1));
    console.log(`told a nearer place: ${movedDown.map((j) => `${j.id} ${j.told.position}→${j.told.position - 1}`).join(', ')}`);
    expect(movedDown.length, 'places moved down (the last in line cannot start before being told one)').toBeGreaterThan(0);
    for (const j of movedDown) {
      const moved = queuedEvents(j.stream.events).find((q) => q.position === j.told.position - 1)!;
      expect(moved.queueLength, `${j.id}: the line is one shorter`).toBe(N - 1);
    }

    // All run to their clip, in the order of their places; nobody was told a place that went back up.
    const ends = await within(Promise.all(jobs.map((j) => j.stream.settled)), 90_000, 'every queued job to finish');
    for (const [i, end] of ends.entries()) {
      expect(end.error, `${jobs[i]!.id}: ${end.error?.code} ${end.error?.details}; ${await describeJob(redis, jobs[i]!.id)}`).toBeUndefined();
      expect(summarize(end.events).done).toBe(1);
      const places = queuedEvents(end.events).map((q) => q.position);
      expect(places, `${jobs[i]!.id}: places told`).toEqual([...places].sort((a, b) => b - a));
      expect(new Set(places).size, `${jobs[i]!.id}: each place told once`).toBe(places.length);
    }
    const startedMs = await Promise.all(first.map(async (j) => (await recordedEvents(redis, j.id)).find((e) => e.event === 'started')!.ms));
    const byPlace = first.map((j, i) => ({ position: j.told.position, ms: startedMs[i]! })).sort((a, b) => a.position - b.position);
    console.log(`started (ms after the first, by place): ${byPlace.map((b) => b.ms - byPlace[0]!.ms).join(', ')}; places told: ${first.map((j) => `${j.id} ${queuedEvents(j.stream.events).map((q) => q.position).join('>')}`).join('; ')}`);
    expect(byPlace.map((b) => b.ms), 'started in the order of their places').toEqual([...byPlace.map((b) => b.ms)].sort((a, b) => a - b));
  }, 120_000);
});

describe('queue caps across gateways', () => {
  it('QUEUE_FULL with retry-after-ms: a person\'s second waiting job on the other gateway, and a third waiting job on either', async () => {
    const redis = cluster!.inspect();
    const [three, four] = [clients[2]!, clients[3]!];
    const hold = follow(three.generate(request('cap-hold', 'lee', HOLD_STEPS)));
    await within(hold.until(denoising), 30_000, 'the hold job to be denoising');
    const annFirst = follow(three.generate(request('cap-ann-1', 'ann', SHORT_STEPS)));
    await within(annFirst.until((e) => !!e.queued), NOTICE_MS, "Ann's first job to be queued");

    const refusal = async (client: AnimatorConnection, id: string, userId: string) => {
      const r = await within(collectSettled(client.generate(request(id, userId, SHORT_STEPS))), 15_000, `${id}'s Generate`);
      const retryAfter = r.error?.metadata?.get(RETRY_AFTER_TRAILER)[0];
      console.log(`${id}: ${r.error?.code} ${errorCodeOf(r.error)} retry-after-ms ${retryAfter}: ${r.error?.details}`);
      expect([r.error?.code, errorCodeOf(r.error)], id).toEqual([status.RESOURCE_EXHAUSTED, 'QUEUE_FULL']);
      expect(Number(retryAfter), `${id}: retry-after-ms`).toBeGreaterThan(0);
      expect(Number.isInteger(Number(retryAfter)), `${id}: retry-after-ms is whole ms`).toBe(true);
      expect(r.events).toEqual([]);
      expect(await jobRecord(redis, id), `${id}: no job was made`).toEqual({});
      return r.error!.details;
    };

    // Ann has one waiting (through gateway 3): her second, through gateway 4, is refused for her own cap.
    expect(await refusal(four, 'cap-ann-2', 'ann')).toMatch(/you have 1 request/);
    // Bob has none waiting: admitted, second in line.
    const bob = follow(four.generate(request('cap-bob', 'bob', SHORT_STEPS)));
    await within(bob.until((e) => !!e.queued), NOTICE_MS, "Bob's job to be queued");
    expect(queuedEvents(bob.events)[0]).toMatchObject({ position: 2, queueLength: 2 });
    // Two wait in the cluster: Cara's is refused on either gateway, whoever took the others.
    for (const [client, id] of [[three, 'cap-cara-3'], [four, 'cap-cara-4']] as const) expect(await refusal(client, id, 'cara')).toMatch(/queue is full \(2 waiting\)/);

    // The admitted ones run once the hold ends; the refused ones never do.
    await four.cancel('cap-hold', 'make way', person('lee'));
    const [annEnd, bobEnd] = await within(Promise.all([annFirst.settled, bob.settled]), 60_000, 'the admitted jobs to finish');
    expect([annEnd.error, bobEnd.error]).toEqual([undefined, undefined]);
    expect([summarize(annEnd.events).done, summarize(bobEnd.events).done]).toEqual([1, 1]);
    for (const id of ['cap-ann-2', 'cap-cara-3', 'cap-cara-4']) expect(await recordedEvents(redis, id), id).toEqual([]);
  }, 120_000);
});

describe('a client with several gateways', () => {
  it('skips the gateway that lost its Redis: 6 calls all succeed, served by the other', async () => {
    const c = cluster!;
    const g1 = gateways[0]!;
    // Gateway 2 of this test: on a Redis of its own with no worker; only its refusal (it lost Redis) is used.
    const redis2 = await startLocalRedis();
    const lone = await startClusterDaemon({ role: 'gateway', queueUrl: redis2.url, modelsDir: c.modelsDir, model: c.fixture.options.name });
    const client = connectAnimator(`${g1.address},${lone.address}`);
    try {
      expect(await healthStatus(lone.address)).toBe('SERVING');
      redis2.kill('SIGKILL');
      const flipMs = await waitFor(async () => (await healthStatus(lone.address)) === 'NOT_SERVING', "the lone gateway's health NOT_SERVING", 15_000, 200);
      console.log(`lone gateway NOT_SERVING ${flipMs} ms after its Redis was killed`);
      // Its refusal, seen directly: what the client's retry turns into a call on the other gateway.
      const direct = connectAnimator(lone.address);
      const refused = await within(collectSettled(direct.generate(request('skip-direct', 'ann', SHORT_STEPS))), 15_000, 'a call straight to the lone gateway');
      direct.close();
      expect([refused.error?.code, errorCodeOf(refused.error)]).toEqual([status.UNAVAILABLE, 'QUEUE_UNAVAILABLE']);

      const redis = c.inspect();
      for (let i = 0; i < 6; i++) {
        const id = `skip-${i}`;
        const from = performance.now();
        const r = await within(collectSettled(client.generate(request(id, 'ann', SHORT_STEPS))), 60_000, `call ${i + 1} of 6`);
        console.log(`${id}: ${r.error ? `${r.error.code} ${r.error.details}` : 'ok'} in ${Math.round(performance.now() - from)} ms`);
        expect(r.error, `${id}: ${r.error?.code} ${r.error?.details}`).toBeUndefined();
        expect(summarize(r.events).done, id).toBe(1);
        expect((await jobRecord(redis, id)).state, `${id} ran in gateway 1's cluster`).toBe('done');
      }
    } finally {
      client.close();
      await lone.kill9();
      await redis2.stop();
    }
  }, 90_000);
});
