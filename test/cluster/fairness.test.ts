// Issue #21, "what must hold" 1: two gateways and two workers (separate processes, one real Redis) give 30 jobs from 3
// people exactly one clip each, and start them round-robin across people whichever gateway took them. Every job is
// queued before any worker runs, so the order is the queue's (the fair rounds on BullMQ priorities), not arrival's: a
// FIFO queue would start person A's 20 jobs, sent first, before anyone else's.
import { afterAll, describe, expect, it } from 'vitest';
import { probeClip } from '../../inference/media/index.ts';
import { follow } from '../helpers/fixture-daemon.ts';
import { jobRecord, recordedEvents, startTestCluster, summarize, within, type TestCluster } from '../helpers/cluster-processes.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';

/** Who sends how many, in the order they send (A first: A's jobs are all queued ahead of B's and C's). */
const SENDERS = [
  { user: 'A', jobs: 20 },
  { user: 'B', jobs: 5 },
  { user: 'C', jobs: 5 },
] as const;
const TOTAL = SENDERS.reduce((n, s) => n + s.jobs, 0);
/** The first starts looked at: with round-robin, 5 of each person's; a FIFO queue would give A all 15. */
const FIRST = 15;
/** Two workers may start two jobs of one round in either order: one either way. */
const SLACK = 1;

let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

describe('two gateways, two workers, 30 jobs from 3 people', () => {
  it('each job gets exactly one clip, and the start order round-robins across people', async () => {
    // Per-person and total caps above this test's load: the caps are not what is tested here.
    cluster = await startTestCluster({ env: { ANIMATE_MAX_QUEUE: String(TOTAL * 2), ANIMATE_MAX_QUEUE_PER_USER: String(TOTAL) } });
    const c = cluster;
    const gateways = await Promise.all([c.start('gateway'), c.start('gateway')]);
    const clients = gateways.map((g) => c.connect(g));

    interface SentJob { id: string; user: string; gateway: number; startedAt?: number; stream: ReturnType<typeof follow> }
    const jobs: SentJob[] = [];
    let n = 0;
    const sendingFrom = performance.now();
    for (const s of SENDERS) {
      const theirs: SentJob[] = [];
      for (let i = 0; i < s.jobs; i++, n++) {
        const id = `fair-${s.user}-${i + 1}`;
        const request: GenerateRequest = {
          requestId: id,
          prompt: 'a red ball bounces on the grass',
          seed: 100 + n,
          steps: 2,
          frames: 5,
          width: 32,
          height: 32,
          preview: { disabled: true },
          requester: { userId: s.user, platform: 'PLAYGROUND' },
        };
        // Alternate gateways: each person's jobs are on both, so fairness must hold across gateways.
        const gateway = n % 2;
        const job: SentJob = { id, user: s.user, gateway, stream: follow(clients[gateway]!.generate(request)) };
        theirs.push(job);
        void job.stream.until((e) => !!e.started).then(() => (job.startedAt = performance.now()), () => {});
      }
      // Person by person: all of A's jobs are admitted before B's first is sent, and B's before C's. Within one
      // person they go at once, as a bot sends a burst: admissions racing each other must still get rounds 0, 1, 2, …
      await within(Promise.all(theirs.map((j) => j.stream.until((e) => !!e.queued))), 30_000, `${s.user}'s jobs to be queued`);
      jobs.push(...theirs);
    }
    console.log(`30 jobs queued on 2 gateways in ${Math.round(performance.now() - sendingFrom)} ms`);
    expect(jobs.every((j) => j.startedAt === undefined)).toBe(true); // nothing runs without a worker

    const startedWorkers = performance.now();
    await Promise.all([c.start('worker'), c.start('worker')]);
    const results = await within(Promise.all(jobs.map((j) => j.stream.settled)), 90_000, 'all 30 streams to end');
    console.log(`30 jobs on 2 workers in ${Math.round(performance.now() - startedWorkers)} ms (worker start-up included)`);

    // Exactly one clip each, complete and playable.
    for (const [i, r] of results.entries()) {
      const id = jobs[i]!.id;
      expect(r.error, `${id}: ${r.error?.code} ${r.error?.details}`).toBeUndefined();
      const s = summarize(r.events);
      expect({ id, started: s.started, done: s.done, repeat: s.clipOffsetsRepeat }).toEqual({ id, started: 1, done: 1, repeat: false });
      expect(s.clip.length, id).toBe(s.clipDeclaredBytes);
      expect(s.clip.length, id).toBeGreaterThan(0);
      const probe = await probeClip(s.clip);
      expect([probe.codec, probe.frames, probe.width, probe.height], id).toEqual(['h264', 5, 32, 32]);
      expect(r.events.at(-1)!.done!.seed, id).toBe(100 + i);
    }

    // Both workers ran jobs (the records name the worker that ran each).
    const redis = c.inspect();
    const records = await Promise.all(jobs.map((j) => jobRecord(redis, j.id)));
    const byWorker = new Map<string, number>();
    for (const r of records) byWorker.set(r.worker ?? '(none)', (byWorker.get(r.worker ?? '(none)') ?? 0) + 1);
    console.log('jobs per worker', Object.fromEntries(byWorker));
    // The fair round each job was admitted with (docs/cluster.md): A's should be 0..19, B's and C's 0..4.
    console.log('rounds', Object.fromEntries(SENDERS.map((s) => [s.user, jobs.flatMap((j, i) => (j.user === s.user ? [records[i]!.round] : [])).join(',')])));
    expect(records.map((r) => r.state)).toEqual(new Array(TOTAL).fill('done'));
    expect(byWorker.size).toBe(2);

    // Start order as the clients saw it (each stream's `started`), and as the workers recorded it (the Redis time of
    // each job's `started` entry): both must round-robin.
    const seenOrder = [...jobs].sort((a, b) => a.startedAt! - b.startedAt!).map((j) => j.user);
    const recorded = await Promise.all(jobs.map(async (j) => ({ user: j.user, at: (await recordedEvents(redis, j.id)).find((e) => e.event === 'started') })));
    expect(recorded.filter((r) => !r.at).length, 'jobs without a recorded started entry').toBe(0);
    const recordedOrder = recorded.sort((a, b) => a.at!.ms - b.at!.ms).map((r) => r.user);
    console.log(`start order seen by clients:  ${seenOrder.join('')}\nstart order recorded in Redis: ${recordedOrder.join('')}`);
    for (const [what, order] of [['seen', seenOrder], ['recorded', recordedOrder]] as const) {
      const first = order.slice(0, FIRST);
      const counts = Object.fromEntries(SENDERS.map((s) => [s.user, first.filter((u) => u === s.user).length]));
      for (const s of SENDERS) {
        expect(counts[s.user], `${what} order: ${s.user}'s jobs among the first ${FIRST} (${order.join('')}; FIFO would give A ${FIRST})`).toBeGreaterThanOrEqual(FIRST / SENDERS.length - SLACK);
        expect(counts[s.user], `${what} order: ${s.user}'s jobs among the first ${FIRST} (${order.join('')})`).toBeLessThanOrEqual(FIRST / SENDERS.length + SLACK);
      }
      // Nobody waits behind another person's third job: B's and C's first jobs are among the first 3 + 1.
      expect(order.indexOf('B'), `${what}: B's first start`).toBeLessThanOrEqual(3);
      expect(order.indexOf('C'), `${what}: C's first start`).toBeLessThanOrEqual(3);
    }
  }, 180_000);
});
