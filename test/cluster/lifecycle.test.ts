// Issue #21, "a deadline or a client that goes away cancels the job on its worker": the caller of a running job goes
// away (the stream is cancelled) or its deadline passes mid-job, on a gateway that is not the process running the job.
// Nobody else follows the job, so the gateway marks it cancelled in Redis and the worker (another process) aborts it:
// the job's record says cancelled, its event stream ends once and holds no Done, and the worker's one slot is free
// again (the next job starts on it and finishes). Without the cancel, the worker would go on denoising for nobody and
// the next job would wait behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { collectSettled, follow } from '../helpers/fixture-daemon.ts';
import {
  describeJob,
  errorCodeOf,
  jobRecord,
  recordedEvents,
  startTestCluster,
  summarize,
  waitFor,
  within,
  type ClusterDaemon,
  type TestCluster,
} from '../helpers/cluster-processes.ts';
import { clusterKeys } from '../../inference/cluster/keys.ts';
import type { AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';

/** About 100 ms of burn per denoiser call: a job of LONG_STEPS lasts 20 s or more, long past its cancel or deadline (a loaded CI machine may take seconds to start it). */
const LONG_STEPS = 200;
const SLOW = { name: 'slow', burnMs: 100, limits: { max_steps: LONG_STEPS } };
/** How long the job's record may take to say cancelled after the caller left (printed; generous for 2 loaded cores). */
const CANCEL_SEEN_MS = 10_000;
/** The deadline of the Generate call in the deadline test, counted from when it is sent. */
const DEADLINE_MS = 8_000;

const request = (requestId: string, steps = LONG_STEPS): GenerateRequest => ({
  requestId,
  prompt: 'a yellow star spins over the sea',
  seed: 11,
  steps,
  frames: 5,
  width: 32,
  height: 32,
  preview: { disabled: true },
  requester: { userId: 'ann', platform: 'PLAYGROUND' },
});

const denoising = (atLeast: number) => (e: GenerateEvent__Output) => e.progress?.stage === 'denoise' && e.progress.step >= atLeast;

let cluster: TestCluster | undefined;
let worker: ClusterDaemon;
let client: AnimatorConnection;
beforeAll(async () => {
  cluster = await startTestCluster({ fixture: SLOW });
  const [gateway, w] = await Promise.all([cluster.start('gateway'), cluster.start('worker')]);
  worker = w;
  client = cluster.connect(gateway);
});
afterAll(async () => {
  await cluster?.close();
});

/**
 * What must hold once a caller left job `id` mid-run: its record says cancelled (within CANCEL_SEEN_MS), its stream in
 * Redis ends exactly once with no Done and fewer steps than asked, the worker's slot is free, and a next job runs there.
 */
async function expectCancelledOnWorker(id: string, leftAt: number, nextId: string, ending = { state: 'cancelled', code: 'CANCELLED' }): Promise<Record<string, string>> {
  const redis = cluster!.inspect();
  const seenMs = await waitFor(async () => (await jobRecord(redis, id)).state === ending.state, `job ${id}'s record to say ${ending.state}`, CANCEL_SEEN_MS, 100).catch(async (err: Error) => {
    throw new Error(`${err.message}; ${await describeJob(redis, id)}`);
  });
  const record = await jobRecord(redis, id);
  console.log(`${id}: record cancelled ${Math.round(performance.now() - leftAt)} ms after the caller left (polled ${seenMs} ms): code ${record.code}, cancel "${record.cancel}"`);
  expect(record.worker, 'the job ran on our worker').toBe(worker.workerId);
  expect(record.code).toBe(ending.code);

  const entries = await recordedEvents(redis, id);
  const steps = entries.filter((e) => e.stage === 'denoise').length;
  console.log(`${id}: ${steps} denoise steps of ${LONG_STEPS} were published before the worker stopped`);
  expect(entries.filter((e) => e.kind === 'x').length, 'one end entry').toBe(1);
  expect(entries.filter((e) => e.event === 'done').length, 'no Done').toBe(0);
  expect(entries.filter((e) => e.kind === 'c').length, 'no clip').toBe(0);
  expect(steps, 'the worker stopped before the end').toBeLessThan(LONG_STEPS);
  expect(entries.at(-1)?.kind, 'nothing after the end').toBe('x');

  // The slot is free: the worker's heartbeat says 0 busy, and the next job starts on it and finishes.
  await waitFor(async () => (await redis.hget(clusterKeys().worker(worker.workerId!), 'busy')) === '0', "the worker's heartbeat to say 0 busy", CANCEL_SEEN_MS, 200);
  const nextFrom = performance.now();
  const next = await within(collectSettled(client.generate(request(nextId, 2))), 60_000, `the job after ${id}`);
  console.log(`${nextId}: 2-step job done ${Math.round(performance.now() - nextFrom)} ms after it was sent`);
  expect(next.error, `${next.error?.code} ${next.error?.details}`).toBeUndefined();
  const s = summarize(next.events);
  expect([s.started, s.done]).toEqual([1, 1]);
  expect(s.clip.length).toBe(s.clipDeclaredBytes);
  expect((await jobRecord(redis, nextId)).worker).toBe(worker.workerId);
  return record;
}

describe('a caller that leaves cancels its job on the worker', () => {
  it('the client cancels the stream after a few Progress events: the record says cancelled and the worker is free', async () => {
    const abort = new AbortController();
    const stream = follow(client.generate(request('gone-away'), { signal: abort.signal }));
    await within(stream.until(denoising(3)), 30_000, 'the job to be at denoise step 3');
    const stepAtLeave = stream.events.filter((e) => e.progress?.stage === 'denoise').length;
    abort.abort();
    const leftAt = performance.now();
    const ended = await within(stream.settled, 5_000, 'the cancelled stream to end on the client');
    expect(ended.error?.code).toBe(status.CANCELLED);
    expect(summarize(ended.events).done).toBe(0);
    console.log(`gone-away: the client left at step ${stepAtLeave} of ${LONG_STEPS}`);
    expect(stepAtLeave, 'the client left mid-job').toBeLessThan(LONG_STEPS - 10);
    await expectCancelledOnWorker('gone-away', leftAt, 'after-gone-away');
  }, 90_000);

  it('a Generate deadline passes mid-job: the stream ends DEADLINE_EXCEEDED and the job is cancelled on the worker', async () => {
    const sentAt = performance.now();
    const stream = follow(client.generate(request('deadline'), { deadline: new Date(Date.now() + DEADLINE_MS) }));
    const ended = await within(stream.settled, DEADLINE_MS + 10_000, 'the stream to end at its deadline');
    const endedAt = performance.now();
    const steps = ended.events.filter((e) => e.progress?.stage === 'denoise').length;
    console.log(`deadline: stream ended ${Math.round(endedAt - sentAt)} ms after it was sent (deadline ${DEADLINE_MS} ms), after ${steps} denoise steps: ${ended.error?.code} ${errorCodeOf(ended.error)} ${ended.error?.details}`);
    expect(ended.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(summarize(ended.events).started, 'the deadline passed mid-job, not while it waited').toBe(1);
    expect(steps, 'the deadline passed mid-job').toBeGreaterThan(0);
    expect(summarize(ended.events).done).toBe(0);
    // As in one process: a passed deadline ends the job failed with DEADLINE_EXCEEDED, not as a Cancel.
    const record = await expectCancelledOnWorker('deadline', endedAt, 'after-deadline', { state: 'failed', code: 'DEADLINE_EXCEEDED' });
    expect(record.cancel, "the record's cancel reason says why").toMatch(/deadline/i);
  }, 90_000);
});
