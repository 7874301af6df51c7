// The fair scheduler alone: its one-pass projection against the pick-by-pick simulation it replaced, coalesced and
// rate-capped place-in-line notices (with an injected clock and timers, and with 2,000 real jobs on the real event
// loop), admission when full (a person with nothing waiting takes the newest place of whoever has most), and retry
// hints that follow the drain time with jitter.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { watchLoop } from '../helpers/loop-watch.ts';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { QueueFullError } from '../../inference/errors.ts';
import { FairScheduler, type FairSchedulerOptions, type SchedulableJob, type SchedulerTimers } from '../../inference/queue/fair-scheduler.ts';
import { positionIfAdded, projectOrder, type OwnerLine } from '../../inference/queue/projection.ts';

/** A clock and timers that move only when told to. */
function manualTime() {
  let now = 0;
  let nextId = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: SchedulerTimers = {
    set(fn, ms) {
      const id = nextId++;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    now: () => now,
    pending: () => pending.size,
    /** Moves the clock forward, running each timer at its time. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...pending].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!due) break;
        pending.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = end;
    },
  };
}

/** Deterministic PRNG (mulberry32), so random states are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The projection the scheduler used before: simulate every fair pick, each pick counted as running. O(jobs x owners). */
function simulateOrder<T>(lines: OwnerLine<T>[]): T[] {
  const state = lines.map((l) => ({ running: l.running, served: l.served, left: [...l.waiting] }));
  let counter = Math.max(0, ...lines.map((l) => l.served));
  const order: T[] = [];
  for (;;) {
    let best: (typeof state)[number] | undefined;
    for (const s of state) {
      if (s.left.length === 0) continue;
      if (!best || s.running < best.running || (s.running === best.running && s.served < best.served)) best = s;
    }
    if (!best) return order;
    order.push(best.left.shift()!);
    best.running++;
    best.served = ++counter;
  }
}

function randomLines(rand: () => number): OwnerLine<string>[] {
  const owners = 1 + Math.floor(rand() * 8);
  const stamps = [...Array(owners).keys()].sort(() => rand() - 0.5);
  return [...Array(owners).keys()].map((o) => ({
    running: Math.floor(rand() * 4),
    served: rand() < 0.3 ? -1 : stamps[o]!,
    arrival: o,
    waiting: [...Array(Math.floor(rand() * 6)).keys()].map((i) => `o${o}j${i}`),
  }));
}

interface Recorded {
  positions: Array<{ position: number; at: number }>;
  started: number | undefined;
  evicted: QueueFullError | undefined;
}

/** A job that records what it is told; `run` is what it does once started. */
function job(id: string, owner: string, run: () => Promise<void>, now: () => number, log: Map<string, Recorded>): SchedulableJob {
  const rec: Recorded = { positions: [], started: undefined, evicted: undefined };
  log.set(id, rec);
  return {
    id,
    owner,
    run: () => {
      rec.started = now();
      return run();
    },
    onPosition: (position) => rec.positions.push({ position, at: now() }),
    onEvicted: (error) => {
      rec.evicted = error;
    },
  };
}

const never = () => new Promise<void>(() => {});

describe('projection', () => {
  it('the one-pass order equals the pick-by-pick simulation on 2,000 random states', () => {
    const rand = prng(19);
    for (let k = 0; k < 2000; k++) {
      const lines = randomLines(rand);
      expect(projectOrder(lines)).toEqual(simulateOrder(lines));
    }
  });

  it("positionIfAdded is where the simulation puts a new job, behind the requester's own", () => {
    const rand = prng(5);
    for (let k = 0; k < 2000; k++) {
      const lines = randomLines(rand);
      const pick = Math.floor(rand() * (lines.length + 1));
      const self = lines[pick];
      const withNew = self
        ? lines.map((l) => (l === self ? { ...l, waiting: [...l.waiting, 'NEW'] } : l))
        : [...lines, { running: Math.floor(rand() * 3), served: -1, arrival: lines.length, waiting: ['NEW'] }];
      const expected = simulateOrder(withNew).indexOf('NEW') + 1;
      const candidate = self
        ? { running: self.running, served: self.served, arrival: self.arrival, waitingCount: self.waiting.length }
        : { running: withNew.at(-1)!.running, served: -1, arrival: Infinity, waitingCount: 0 };
      expect(positionIfAdded(lines, candidate, self)).toBe(expected);
    }
  });
});

describe('place-in-line notices', () => {
  function scheduler(time: ReturnType<typeof manualTime>, extra: Partial<FairSchedulerOptions> = {}) {
    return new FairScheduler({ concurrency: 1, maxQueued: 10_000, maxQueuedPerOwner: 10_000, now: time.now, timers: time.timers, ...extra });
  }

  it('a burst of 2,000 enqueues: one notice each at once, one recompute later, then places told within a fifth', () => {
    const time = manualTime();
    // Every newcomer told at once (by default only while at most 64 requesters wait; the next test covers the other way).
    const s = scheduler(time, { immediateNoticeMaxLines: Infinity });
    const log = new Map<string, Recorded>();
    for (let i = 0; i < 2000; i++) s.enqueue(job(`j${i}`, `u${i % 50}`, never, time.now, log));
    // Each newcomer was told its place at once; nobody else was told anything on its account.
    expect([...log.values()].map((r) => r.positions.length)).toEqual(Array(2000).fill(1));
    expect(s.flushes).toBe(0);
    time.advance(100);
    // One recompute for the whole burst; the places it moved are held back until a second has passed.
    expect(s.flushes).toBe(1);
    expect([...log.values()].every((r) => r.positions.length === 1)).toBe(true);
    time.advance(1000);
    const projected = s.projectedOrder().map((j) => j.id);
    for (const [i, id] of projected.entries()) {
      const told = log.get(id)!.positions.at(-1)!.position;
      if (i + 1 <= 10) expect(told, id).toBe(i + 1);
      else expect(Math.abs(told - (i + 1)), id).toBeLessThan(Math.max(told, 10) * 0.2);
    }
    const total = [...log.values()].reduce((n, r) => n + r.positions.length, 0);
    expect(total).toBeLessThan(2 * 2000);
  });

  it('at most one notice per job per second; the front is exact, far back only a move by a fifth is told', () => {
    const time = manualTime();
    const s = scheduler(time);
    const log = new Map<string, Recorded>();
    const finishers: Array<() => void> = [];
    const run = () => new Promise<void>((resolve) => finishers.push(resolve));
    for (let i = 0; i < 500; i++) s.enqueue(job(`j${i}`, `u${i}`, run, time.now, log));
    time.advance(100);
    return (async () => {
      // Finish one job every 20 ms (the line moves 50 places a second); each finish starts the next through p-queue.
      for (let t = 0; t < 600; t++) {
        finishers.shift()?.();
        await new Promise((r) => setImmediate(r));
        time.advance(20);
      }
      await s.onIdle();
      for (const [id, r] of log) {
        expect(r.started, id).toBeDefined();
        const p = r.positions;
        expect(p.at(-1)!.position, id).toBe(1);
        // Between notices at least a second, except the "you are next" right before the start.
        for (let i = 1; i < p.length - 1; i++) expect(p[i]!.at - p[i - 1]!.at, id).toBeGreaterThanOrEqual(1000);
        // Far back (past 10), each notice moved the place by at least a fifth.
        for (let i = 1; i < p.length; i++) if (p[i - 1]!.position > 10 && p[i]!.position > 10) expect(Math.abs(p[i]!.position - p[i - 1]!.position), id).toBeGreaterThanOrEqual(p[i - 1]!.position * 0.2);
        expect(p.length, id).toBeLessThanOrEqual(60);
      }
      const j499 = log.get('j499')!.positions.map((p) => p.position);
      // The last job waited ~10 s from place 499: told a handful of times, not ten times a second.
      console.log(`job 499 was told: ${j499.join(', ')}`);
      expect(j499[0]).toBe(499);
      expect(j499.length).toBeLessThan(25);
    })();
  });

  it('close() clears the pending timer and no notice follows', () => {
    const time = manualTime();
    const s = scheduler(time);
    const log = new Map<string, Recorded>();
    s.enqueue(job('a', 'u1', never, time.now, log));
    s.enqueue(job('b', 'u2', never, time.now, log));
    s.enqueue(job('c', 'u3', never, time.now, log));
    expect(time.pending()).toBe(1);
    s.close();
    expect(time.pending()).toBe(0);
    // c would have moved to place 1 (b removed) and been told at the flush; after close() nothing more is told.
    s.remove('b');
    time.advance(5000);
    expect(log.get('c')!.positions.map((p) => p.position)).toEqual([2]);
    expect(time.pending()).toBe(0);
  });

  it("the default timers are unref'd: a waiting job's pending notice does not keep the process alive", async () => {
    const script = `
      import { FairScheduler } from ${JSON.stringify(path.resolve('inference/queue/fair-scheduler.ts'))};
      const s = new FairScheduler({ concurrency: 1, maxQueued: 10, maxQueuedPerOwner: 10, flushDelayMs: 60_000 });
      const job = (id, owner) => ({ id, owner, run: () => new Promise(() => {}), onPosition() {}, onEvicted() {} });
      s.enqueue(job('a', 'u1'));
      s.enqueue(job('b', 'u2'));
      console.log('enqueued');`;
    const t0 = Date.now();
    const { stdout } = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), ['--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout).toContain('enqueued');
    // A ref'd 60 s timer would hold it for a minute (and the 30 s timeout would kill it).
    expect(Date.now() - t0).toBeLessThan(25_000);
  });

  it('2,000 real jobs: the event loop never stalls 50 ms and no job gets more than 60 notices', async () => {
    const s = new FairScheduler({ concurrency: 2, maxQueued: 5000, maxQueuedPerOwner: 5000 });
    const now = () => performance.now();
    const log = new Map<string, Recorded>();
    const startOrder: string[] = [];
    // 100 people with 10 each and 1,000 with one, arriving mixed; each job takes ~3 ms (a real timer).
    const owners: string[] = [];
    for (let i = 0; i < 1000; i++) owners.push(`single${i}`, `burst${i % 100}`);
    const loop = watchLoop();
    const t0 = now();
    owners.forEach((owner, i) =>
      s.enqueue(
        job(`j${i}`, owner, () => {
          startOrder.push(owner);
          return new Promise((r) => setTimeout(r, 3));
        }, now, log),
      ),
    );
    await s.onIdle();
    const drainMs = now() - t0;
    const { maxDelayMs, maxBusyMs } = loop.stop();
    const counts = [...log.values()].map((r) => r.positions.length);
    const maxCount = Math.max(...counts);
    const total = counts.reduce((a, b) => a + b, 0);
    console.log(`2,000 jobs drained in ${Math.round(drainMs)} ms; event loop busy at most ${maxBusyMs.toFixed(1)} ms in a 5 ms window (raw delay ${maxDelayMs.toFixed(1)} ms); notices: ${total} in all, at most ${maxCount} per job; ${s.flushes} recomputes`);
    expect(startOrder).toHaveLength(2000);
    // The goal (under 50 ms) is a speed figure, printed above; the assertion only guards against the old quadratic
    // stall (1.2 s here), with room for a loaded shared machine.
    expect(maxBusyMs).toBeLessThan(300);
    expect(maxCount).toBeLessThanOrEqual(60);
    for (const r of log.values()) expect(r.positions.at(-1)!.position).toBe(1);
    // Fair share held: the first 1,100 starts took every burst owner's first job before any burst owner's second.
    const firstSecondBurst = startOrder.findIndex((o, i) => o.startsWith('burst') && startOrder.slice(0, i).includes(o));
    expect(startOrder.slice(0, firstSecondBurst).filter((o) => o.startsWith('burst')).length).toBe(100);
  });
});

describe('admission when full', () => {
  it('10 people with bursts fill 32 places; 40 newcomers with nothing waiting take places until nobody has two', () => {
    const time = manualTime();
    const s = new FairScheduler({ concurrency: 1, maxQueued: 32, maxQueuedPerOwner: 8, now: time.now, timers: time.timers, random: () => 0.5 });
    const log = new Map<string, Recorded>();
    s.enqueue(job('running', 'x', never, time.now, log));
    for (let i = 0; i < 32; i++) s.enqueue(job(`b${i}`, `burst${i % 10}`, never, time.now, log));
    expect(s.queuedCount).toBe(32);
    const refused: QueueFullError[] = [];
    for (let n = 0; n < 40; n++) {
      const waitingPerOwner = () => {
        const m = new Map<string, number>();
        for (const j of s.projectedOrder()) m.set(j.owner, (m.get(j.owner) ?? 0) + 1);
        return m;
      };
      try {
        s.enqueue(job(`n${n}`, `new${n}`, never, time.now, log));
      } catch (err) {
        expect(err).toBeInstanceOf(QueueFullError);
        // Refused only when nobody has two or more waiting.
        expect(Math.max(...waitingPerOwner().values())).toBeLessThan(2);
        refused.push(err as QueueFullError);
      }
    }
    // 32 places: the 10 burst owners keep one each, 22 newcomers got in, 18 were refused.
    expect(refused).toHaveLength(18);
    expect(refused[0]!.message).toMatch(/the queue is full \(32 waiting\); try again in about \d+ s/);
    const evicted = [...log.entries()].filter(([, r]) => r.evicted);
    expect(evicted).toHaveLength(22);
    // Each evicted job was its owner's newest, and the message says why.
    const burst0 = [...log.keys()].filter((id) => /^b\d+$/.test(id) && Number(id.slice(1)) % 10 === 0);
    expect(burst0.filter((id) => log.get(id)!.evicted)).toEqual(burst0.slice(1));
    for (const [, r] of evicted) {
      expect(r.evicted!.message).toMatch(/the queue was full \(32 waiting\) and your newest request gave its place to someone with nothing waiting \(you still have \d+ waiting\); try again in about \d+ s/);
      expect(r.evicted!.retryAfterMs).toBeGreaterThan(0);
    }
    expect(s.queuedCount).toBe(32);
    expect(s.projectedOrder().filter((j) => j.owner.startsWith('new'))).toHaveLength(22);
  });

  it('a person who already has one waiting is refused, not given a place by eviction', () => {
    const time = manualTime();
    const s = new FairScheduler({ concurrency: 1, maxQueued: 3, maxQueuedPerOwner: 8, now: time.now, timers: time.timers });
    const log = new Map<string, Recorded>();
    s.enqueue(job('r', 'x', never, time.now, log));
    s.enqueue(job('a1', 'a', never, time.now, log));
    s.enqueue(job('a2', 'a', never, time.now, log));
    s.enqueue(job('b1', 'b', never, time.now, log));
    expect(() => s.enqueue(job('b2', 'b', never, time.now, log))).toThrow(/the queue is full \(3 waiting\)/);
    expect(log.get('a2')!.evicted).toBeUndefined();
  });
});

describe('what the scheduler remembers of requesters', () => {
  it('stays bounded by those waiting or running: 5,000 one-off requesters leave nothing behind', async () => {
    const time = manualTime();
    const s = new FairScheduler({ concurrency: 2, maxQueued: 10_000, maxQueuedPerOwner: 4, now: time.now, timers: time.timers });
    const log = new Map<string, Recorded>();
    const releases: Array<() => void> = [];
    const held = () => new Promise<void>((r) => releases.push(r));
    for (let i = 0; i < 5000; i++) s.enqueue(job(`j${i}`, `user-${i}`, held, time.now, log));
    await new Promise((r) => setImmediate(r));
    let most = 0;
    while (releases.length > 0) {
      // Waiting lines plus the (at most 2) running owners: never one per requester ever seen.
      most = Math.max(most, s.rememberedOwners);
      expect(s.rememberedOwners).toBeLessThanOrEqual(s.queuedCount + s.runningCount);
      releases.splice(0).forEach((release) => release());
      await new Promise((r) => setImmediate(r));
    }
    await s.onIdle();
    expect(most).toBeGreaterThan(0);
    expect(s.rememberedOwners).toBe(0);
  });

  it('a requester who comes back after being forgotten counts as served long ago, and round-robin still holds', async () => {
    const time = manualTime();
    const s = new FairScheduler({ concurrency: 1, maxQueued: 100, maxQueuedPerOwner: 8, now: time.now, timers: time.timers });
    const log = new Map<string, Recorded>();
    const order: string[] = [];
    let finish!: () => void;
    const recorded = (id: string) => () => {
      order.push(id);
      return new Promise<void>((r) => (finish = r));
    };
    // a is served and leaves; b then queues three, and a comes back with two while b's first runs.
    s.enqueue(job('a1', 'a', recorded('a1'), time.now, log));
    await new Promise((r) => setImmediate(r));
    finish();
    await s.onIdle();
    expect(s.rememberedOwners).toBe(0);
    for (const id of ['b1', 'b2', 'b3']) s.enqueue(job(id, 'b', recorded(id), time.now, log));
    await new Promise((r) => setImmediate(r));
    for (const id of ['a2', 'a3']) s.enqueue(job(id, 'a', recorded(id), time.now, log));
    for (let guard = 0; order.length < 6 && guard < 50; guard++) {
      finish();
      await new Promise((r) => setImmediate(r));
    }
    finish();
    await s.onIdle();
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });
});

describe('retry hints', () => {
  function loaded(waiting: number, random: () => number, concurrency = 2) {
    const time = manualTime();
    const s = new FairScheduler({ concurrency, maxQueued: waiting, maxQueuedPerOwner: 4, now: time.now, timers: time.timers, random, initialJobMs: 1000 });
    const log = new Map<string, Recorded>();
    for (let i = 0; i < concurrency; i++) s.enqueue(job(`r${i}`, `runner${i}`, never, time.now, log));
    for (let i = 0; i < waiting; i++) s.enqueue(job(`w${i}`, `u${i}`, never, time.now, log));
    return { s, log, time };
  }
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return err as QueueFullError;
    }
    throw new Error('expected a refusal');
  };
  const noop = () => ({ id: Math.random().toString(36), run: never, onPosition() {}, onEvicted() {} });

  it('follow the drain time: average job time x jobs ahead / concurrency, proportional to the depth', () => {
    const hints = [8, 16, 32].map((depth) => refusal(() => loaded(depth, () => 0.5).s.enqueue({ ...noop(), owner: 'late' })).retryAfterMs);
    // Both slots busy: the caller would be at place depth + 1, so it waits for depth + 1 finishes of 1 s on 2 slots.
    expect(hints).toEqual([4500, 8500, 16500]);
  });

  it('for the per-person cap, the place behind their own waiting jobs', () => {
    const time = manualTime();
    const log = new Map<string, Recorded>();
    const q = new FairScheduler({ concurrency: 1, maxQueued: 100, maxQueuedPerOwner: 3, now: time.now, timers: time.timers, random: () => 0.5, initialJobMs: 1000 });
    q.enqueue(job('run', 'x', never, time.now, log));
    for (let i = 0; i < 10; i++) q.enqueue(job(`o${i}`, `other${i}`, never, time.now, log));
    for (let i = 0; i < 3; i++) q.enqueue(job(`m${i}`, 'me', never, time.now, log));
    const err = refusal(() => q.enqueue({ ...noop(), owner: 'me' }));
    expect(err.message).toMatch(/you already have 3 requests waiting \(at most 3\)/);
    // Others have one each at level 0; mine are at levels 0, 1, 2: a fourth would be at level 3, behind all 13: place 14.
    expect(err.retryAfterMs).toBe(14 * 1000);
  });

  it('are jittered +-20% with the injected random source, so refused callers do not come back together', () => {
    const rand = prng(7);
    const { s } = loaded(16, rand);
    const hints = Array.from({ length: 400 }, () => refusal(() => s.enqueue({ ...noop(), owner: 'late' })).retryAfterMs);
    const base = 8500;
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(base * 0.8);
    expect(Math.max(...hints)).toBeLessThanOrEqual(base * 1.2);
    // Spread over the whole band, not a constant.
    expect(Math.min(...hints)).toBeLessThan(base * 0.85);
    expect(Math.max(...hints)).toBeGreaterThan(base * 1.15);
    expect(new Set(hints).size).toBeGreaterThan(300);
  });

  it('follow the measured job time', async () => {
    const time = manualTime();
    const s = new FairScheduler({ concurrency: 1, maxQueued: 4, maxQueuedPerOwner: 4, now: time.now, timers: time.timers, random: () => 0.5, initialJobMs: 1000 });
    const log = new Map<string, Recorded>();
    // Ten jobs of 10 s each move the average towards 10 s.
    for (let i = 0; i < 10; i++) {
      let done!: () => void;
      s.enqueue(job(`j${i}`, 'u', () => new Promise<void>((r) => (done = r)), time.now, log));
      time.advance(10_000);
      done();
      await s.onIdle();
    }
    expect(s.averageJobTimeMs).toBeGreaterThan(9000);
    // One starts, four wait: a newcomer would be fifth, behind four starts and one finish.
    for (let i = 0; i < 5; i++) s.enqueue(job(`k${i}`, `v${i}`, never, time.now, log));
    const err = refusal(() => s.enqueue({ ...noop(), owner: 'late' }));
    expect(err.retryAfterMs).toBe(Math.round(5 * s.averageJobTimeMs));
  });
});
