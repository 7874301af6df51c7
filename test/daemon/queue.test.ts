// Scheduling and lifecycle: fair share, backpressure, cancellation, deadlines, worker crashes, shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { collect, collectSettled, follow, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { watchLoop } from '../helpers/loop-watch.ts';

// Each denoiser call of this fixture burns ~50 ms, so a 20-step job runs for about a second.
const SLOW = { burnMs: 50 };
let fx: FixtureDaemon | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

function req(user: string, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { prompt: 'a red ball', steps: 20, seed: 1, preview: { disabled: true }, requester: { userId: user, platform: 'DISCORD' }, ...extra };
}

describe('fair share', () => {
  it("one user's many requests do not starve another's one", async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const startedOrder: string[] = [];
    const track = (user: string, i: number) => {
      const f = follow(fx!.client.generate(req(user, { steps: 4, requestId: `${user}-${i}` })));
      void f.until((e) => !!e.started).then(() => startedOrder.push(`${user}-${i}`));
      return f;
    };
    const alice = [0, 1, 2, 3, 4].map((i) => track('alice', i));
    await alice[0]!.until((e) => !!e.started);
    await new Promise((r) => setTimeout(r, 50));
    const bob = track('bob', 0);
    // Bob is told he is next even though Alice has four waiting.
    await bob.until((e) => !!e.queued);
    expect(bob.events.find((e) => e.queued)!.queued!.position).toBe(1);
    await Promise.all([...alice, bob].map((f) => f.settled));
    expect(startedOrder.slice(0, 2)).toEqual(['alice-0', 'bob-0']);
    expect(startedOrder).toHaveLength(6);
    // Alice's later requests saw their positions move up as the queue drained.
    const positions = alice[4]!.events.filter((e) => e.queued).map((e) => e.queued!.position);
    expect(positions[0]).toBeGreaterThan(positions.at(-1)!);
    expect(positions.at(-1)).toBe(1);
  });
});

describe('backpressure', () => {
  it('RESOURCE_EXHAUSTED with a retry hint when the queue is full, and per user', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW, daemon: { maxQueue: 2, maxQueuePerUser: 1 } });
    const running = follow(fx.client.generate(req('a', { steps: 8 })));
    await running.until((e) => !!e.started);
    const waitingA = follow(fx.client.generate(req('a', { steps: 2 })));
    await waitingA.until((e) => !!e.queued);
    const secondA = await collectSettled(fx.client.generate(req('a')));
    expect(secondA.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(secondA.error?.details).toMatch(/you already have 1 requests waiting \(at most 1\); try again in about \d+ s/);
    const waitingB = follow(fx.client.generate(req('b', { steps: 2 })));
    await waitingB.until((e) => !!e.queued);
    const c = await collectSettled(fx.client.generate(req('c')));
    expect(c.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(c.error?.details).toMatch(/the queue is full \(2 waiting\)/);
    expect(Number(c.error?.metadata?.get('retry-after-ms')[0])).toBeGreaterThan(0);
    // Nothing admitted is lost: all three finish.
    for (const f of [running, waitingA, waitingB]) expect((await f.settled).error).toBeUndefined();
  });
});

describe('admission when full', () => {
  it("a newcomer with nothing waiting takes the newest place of whoever has most; refusals get jittered drain-time hints", async () => {
    fx = await startFixtureDaemon({ fixture: SLOW, daemon: { maxQueue: 3, maxQueuePerUser: 8 } });
    // Runs ~2 s: the queue stays full while the rest of the test looks at it.
    const running = follow(fx.client.generate(req('x', { steps: 40 })));
    await running.until((e) => !!e.started);
    const burst = [0, 1, 2].map((i) => follow(fx!.client.generate(req('burst', { steps: 2, requestId: `burst-${i}` }))));
    await Promise.all(burst.map((f) => f.until((e) => !!e.queued)));
    // The queue is full with three of one person's; a person with nothing waiting still gets in.
    const newcomer = follow(fx.client.generate(req('new', { steps: 2 })));
    const evicted = await burst[2]!.settled;
    expect(evicted.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(evicted.error?.details).toMatch(/the queue was full \(3 waiting\) and your newest request gave its place to someone with nothing waiting \(you still have 2 waiting\); try again in about \d+ s/);
    expect(Number(evicted.error?.metadata.get('retry-after-ms')[0])).toBeGreaterThan(0);
    await newcomer.until((e) => !!e.queued);
    // The burst owner still has two waiting: a second newcomer takes the newer of them.
    const second = follow(fx.client.generate(req('new2', { steps: 2 })));
    expect((await burst[1]!.settled).error?.code).toBe(status.RESOURCE_EXHAUSTED);
    await second.until((e) => !!e.queued);
    // One each waiting: further callers are refused, each with its own hint (the drain time, jittered).
    const refused = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => collectSettled(fx!.client.generate(req(`late${i}`)))));
    const hints = refused.map((r) => {
      expect(r.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(r.error?.details).toMatch(/the queue is full \(3 waiting\)/);
      return Number(r.error?.metadata?.get('retry-after-ms')[0]);
    });
    for (const h of hints) expect(h).toBeGreaterThan(0);
    expect(new Set(hints).size).toBeGreaterThan(1);
    expect(Math.max(...hints) / Math.min(...hints)).toBeLessThan(1.2 / 0.8 + 0.01);
    // Everyone admitted and not evicted finishes.
    for (const f of [running, burst[0]!, newcomer, second]) expect((await f.settled).error).toBeUndefined();
    // The evicted request was told to send again: sent again with the same request_id, it runs (no replayed refusal).
    const resent = await collectSettled(fx.client.generate(req('burst', { steps: 2, requestId: 'burst-2' })));
    expect(resent.error).toBeUndefined();
    expect(resent.events.some((e) => e.done)).toBe(true);
  });
});

describe('2,000 queued through a real daemon', () => {
  it('while they wait and the line moves, the event loop never stalls 50 ms, and no stream gets more than 60 Queued events', async () => {
    fx = await startFixtureDaemon({ daemon: { maxQueue: 2500, maxQueuePerUser: 2500, maxStreamsPerConnection: 2500 } });
    const streams: Array<ReturnType<typeof follow>> = [];
    const firstCallAt = Date.now();
    // Client and daemon share this process: while the calls go out, the client's own work is measured too (logged only).
    const arrivalWatch = watchLoop();
    // 100 people with 10 each and 1,000 with one; the calls go out 50 per turn, as a busy bot's would.
    for (let i = 0; i < 2000; i++) {
      const user = i % 2 === 0 ? `single${i}` : `burst${i % 200}`;
      streams.push(follow(fx.client.generate(req(user, { steps: 1, requestId: `many-${i}` }))));
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(streams.map((f) => Promise.race([f.until((e) => !!e.queued || !!e.started), f.settled])));
    const arrival = arrivalWatch.stop();
    // The line moves for 3 s: jobs start and end, places are recomputed and told.
    const movingWatch = watchLoop();
    await new Promise((r) => setTimeout(r, 3000));
    const moving = movingWatch.stop();
    const counts = streams.map((f) => f.events.filter((e) => e.queued).length);
    // Queued notices are rate-limited to one a second per job, plus the first one and the "you are next" before it
    // starts: over the time the test actually waited, no stream can have more than 2 + ceil(seconds), plus a margin of 2.
    const waitedSeconds = (Date.now() - firstCallAt) / 1000;
    const perStreamBound = 2 + Math.ceil(waitedSeconds) + 2;
    const started = streams.filter((f) => f.events.some((e) => e.started)).length;
    console.log(
      `2,000 queued on a real daemon: ${started} started in 3 s; event loop busy at most ${moving.maxBusyMs.toFixed(1)} ms in a 5 ms window while the line moved (raw delay ${moving.maxDelayMs.toFixed(1)} ms) ` +
        `(${arrival.maxBusyMs.toFixed(1)} ms, raw ${arrival.maxDelayMs.toFixed(1)} ms, while 2,000 calls arrived from this same process); Queued events: ${counts.reduce((a, b) => a + b, 0)} in all, at most ${Math.max(...counts)} per stream`,
    );
    expect(counts.every((c) => c >= 1 && c <= 60)).toBe(true);
    const over = counts.map((c, i) => ({ stream: i, queued: c })).filter((x) => x.queued > perStreamBound);
    expect(over, `Queued events per stream over ${perStreamBound} (waited ${waitedSeconds.toFixed(1)} s)`).toEqual([]);
    expect(started).toBeGreaterThan(0);
    // The goal (under 50 ms) is a speed figure, printed above; on a loaded shared machine a timed assertion is only a
    // guard against the quadratic stall this replaced (7.2 s for 2,000 jobs), so its bound is generous.
    expect(moving.maxBusyMs).toBeLessThan(500);
    await fx.daemon.close({ graceMs: 0 });
    const ends = await Promise.all(streams.map((f) => f.settled));
    expect(ends.every((e) => e.error === undefined || e.error.code === status.UNAVAILABLE || e.error.code === status.CANCELLED)).toBe(true);
  });
});

describe('cancellation', () => {
  it('Cancel stops a running job at the next step and frees the slot for the next one', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const victim = follow(fx.client.generate(req('a', { requestId: 'victim', steps: 40 })));
    const next = follow(fx.client.generate(req('b', { requestId: 'next', steps: 2 })));
    await victim.until((e) => (e.progress?.step ?? 0) >= 2);
    expect(await fx.client.cancel('victim', 'changed my mind')).toEqual({ cancelled: true, state: 'running' });
    const { events, error } = await victim.settled;
    expect(error?.code).toBe(status.CANCELLED);
    expect(error?.details).toBe('changed my mind');
    const lastStep = Math.max(...events.map((e) => e.progress?.step ?? 0));
    expect(lastStep).toBeLessThan(40);
    expect((await next.settled).error).toBeUndefined();
    expect(await fx.client.cancel('victim')).toEqual({ cancelled: false, state: 'finished' });
  });

  it('Cancel removes a queued job before it starts', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const first = follow(fx.client.generate(req('a', { requestId: 'first', steps: 6 })));
    const queued = follow(fx.client.generate(req('b', { requestId: 'queued' })));
    await queued.until((e) => !!e.queued);
    expect(await fx.client.cancel('queued')).toEqual({ cancelled: true, state: 'queued' });
    const { events, error } = await queued.settled;
    expect(error?.code).toBe(status.CANCELLED);
    expect(events.some((e) => e.started)).toBe(false);
    expect((await first.settled).error).toBeUndefined();
  });

  it('a client that goes away cancels its job', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const controller = new AbortController();
    const gone = follow(fx.client.generate(req('a', { requestId: 'gone', steps: 40 }), { signal: controller.signal }));
    await gone.until((e) => (e.progress?.step ?? 0) >= 1);
    controller.abort();
    await gone.settled;
    // The daemon notices and frees the slot: the next job starts and the old one reports finished (cancelled).
    const after = await collect(fx.client.generate(req('b', { steps: 2 })));
    expect(after.at(-1)!.done).toBeTruthy();
    expect(await fx.client.cancel('gone')).toEqual({ cancelled: false, state: 'finished' });
  });

  it('a call cancelled at once never leaves a job behind, and shutdown does not wait for it', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const controller = new AbortController();
    controller.abort();
    const { error } = await collectSettled(fx.client.generate(req('a', { requestId: 'at-once', steps: 40 }), { signal: controller.signal }));
    expect(error?.code).toBe(status.CANCELLED);
    const after = await collect(fx.client.generate(req('b', { steps: 2 })));
    expect(after.at(-1)!.done).toBeTruthy();
    // Whether or not the daemon saw the call, nothing of it is still running.
    expect((await fx.client.cancel('at-once')).cancelled).toBe(false);
    const t0 = Date.now();
    await fx.daemon.close({ graceMs: 0 });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('DEADLINE_EXCEEDED when the deadline passes mid-job', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const { error } = await collectSettled(fx.client.generate(req('a', { steps: 40 }), { deadline: new Date(Date.now() + 400) }));
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
    const after = await collect(fx.client.generate(req('b', { steps: 2 })));
    expect(after.at(-1)!.done).toBeTruthy();
  });
});

describe('failures', () => {
  it('a crashed worker ends the affected request with INTERNAL and the daemon keeps serving', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const victim = follow(fx.client.generate(req('a', { steps: 40 })));
    await victim.until((e) => (e.progress?.step ?? 0) >= 1);
    fx.daemon.crashWorker();
    const { error } = await victim.settled;
    expect(error?.code).toBe(status.INTERNAL);
    expect(error?.details).toMatch(/inference worker stopped/);
    const after = await collect(fx.client.generate(req('b', { steps: 2 })));
    expect(after.at(-1)!.done!.steps).toBe(2);
  });

  it('shutdown drains the running job and tells queued ones to send again', async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const running = follow(fx.client.generate(req('a', { steps: 6 })));
    const queued = follow(fx.client.generate(req('b')));
    await running.until((e) => !!e.started);
    await queued.until((e) => !!e.queued);
    const closing = fx.daemon.close({ graceMs: 10_000 });
    const q = await queued.settled;
    expect(q.error?.code).toBe(status.UNAVAILABLE);
    expect(q.error?.details).toMatch(/shutting down.*send it again/);
    expect((await running.settled).error).toBeUndefined();
    await closing;
  });
});

describe('deadlines of several streams of one job', () => {
  it("a retry's short deadline ends that stream only; the first caller still gets the clip", async () => {
    fx = await startFixtureDaemon({ fixture: SLOW });
    const request = req('dee', { steps: 20, requestId: 'shared-deadline' });
    const first = follow(fx.client.generate(request));
    await first.until((e) => !!e.started);
    const retry = await collectSettled(fx.client.generate(request, { deadline: new Date(Date.now() + 200) }));
    expect(retry.error?.code).toBe(status.DEADLINE_EXCEEDED);
    const done = await first.settled;
    expect(done.error).toBeUndefined();
    expect(done.events.some((e) => e.done)).toBe(true);
  });
});
