// Issue #21: Cancel works from any gateway, and request-id ownership holds cluster-wide. A job followed on gateway 1 is
// cancelled by a Cancel call on gateway 2 (running: its worker aborts it; still queued: it is taken off the queue and
// never runs), and gateway 1's stream ends CANCELLED. Another person can neither cancel it nor take its request id
// on another gateway: the record in Redis, not the gateway's memory, decides (PERMISSION_DENIED, REQUEST_ID_TAKEN).
import { afterAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { collectSettled, follow } from '../helpers/fixture-daemon.ts';
import { wireStatusOf } from '../../shared/rpc/rpc-error.ts';
import { describeJob, errorCodeOf, jobRecord, recordedEvents, startTestCluster, summarize, waitFor, within, type TestCluster } from '../helpers/cluster-processes.ts';
import type { GenerateRequest, Requester } from '../../shared/rpc/types.ts';

const SLOW = { name: 'slow', burnMs: 100 };
/** Steps of the jobs to cancel: the checks before the Cancel (a few calls on another gateway) must not outlast them. */
const STEPS = 50;
const ANN: Requester = { userId: 'ann', platform: 'PLAYGROUND' };
const BOB: Requester = { userId: 'bob', platform: 'PLAYGROUND' };

const request = (requestId: string, requester: Requester, seed = 3): GenerateRequest => ({
  requestId,
  prompt: 'a green heart falls on the grass',
  seed,
  steps: STEPS,
  frames: 5,
  width: 32,
  height: 32,
  preview: { disabled: true },
  requester,
});

let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

describe('cancel and ownership across gateways', () => {
  it('a Cancel on gateway 2 ends gateway 1\'s streams CANCELLED; another person is refused PERMISSION_DENIED', async () => {
    cluster = await startTestCluster({ fixture: SLOW });
    const c = cluster;
    const [g1, g2] = await Promise.all([c.start('gateway'), c.start('gateway'), c.start('worker')]);
    const [one, two] = [c.connect(g1), c.connect(g2)];
    const redis = c.inspect();

    // One worker with one slot: the first job runs, the second waits behind it.
    const running = follow(one.generate(request('cancel-running', ANN)));
    await within(running.until((e) => e.progress?.stage === 'denoise' && e.progress.step >= 2), 30_000, 'the first job to be denoising');
    const waiting = follow(one.generate(request('cancel-queued', ANN)));
    await within(waiting.until((e) => !!e.queued), 10_000, 'the second job to be queued');

    const checksFrom = performance.now();
    // Ownership, cluster-wide: Bob on gateway 2 can neither take Ann's request id nor cancel her job.
    const stolen = await within(collectSettled(two.generate(request('cancel-running', BOB))), 15_000, "Bob's Generate with Ann's id");
    expect([stolen.error?.code, errorCodeOf(stolen.error)]).toEqual([status.PERMISSION_DENIED, 'REQUEST_ID_TAKEN']);
    expect(stolen.events).toEqual([]);
    const otherParams = await within(collectSettled(two.generate(request('cancel-running', ANN, 4))), 15_000, "Ann's id with another seed");
    expect([otherParams.error?.code, errorCodeOf(otherParams.error)]).toEqual([status.ALREADY_EXISTS, 'REQUEST_ID_REUSED']);
    const refused = await within(two.cancel('cancel-running', 'not mine', BOB).then(() => undefined, (e: unknown) => wireStatusOf(e)), 15_000, "Bob's Cancel");
    expect(refused?.code, 'Cancel naming another requester').toBe(status.PERMISSION_DENIED);
    expect(refused?.details.length).toBeGreaterThan(0);
    // The refused Cancel changed nothing: the job goes on.
    const seen = running.events.length;
    await waitFor(() => running.events.slice(seen).some((e) => e.progress?.stage === 'denoise'), 'progress after the refused Cancel', 15_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; the stream had ${seen} events; ${await describeJob(redis, 'cancel-running')}`);
    });
    expect(running.events.some((e) => e.done)).toBe(false);

    console.log(`ownership checks took ${Math.round(performance.now() - checksFrom)} ms; the job is at step ${running.events.filter((e) => e.progress?.stage === 'denoise').at(-1)?.progress?.step} of ${STEPS}`);

    // Ann cancels the waiting job from gateway 2: it leaves the queue, and gateway 1's stream ends CANCELLED.
    expect(await two.cancel('cancel-queued', 'changed my mind', ANN)).toEqual({ cancelled: true, state: 'queued' });
    const waitingEnd = await within(waiting.settled, 15_000, "the queued job's stream to end");
    expect([waitingEnd.error?.code, errorCodeOf(waitingEnd.error)]).toEqual([status.CANCELLED, 'CANCELLED']);
    expect(summarize(waitingEnd.events).started).toBe(0);

    // And the running one: its worker aborts it.
    const cancelledAt = performance.now();
    expect(await two.cancel('cancel-running', 'stop', ANN)).toEqual({ cancelled: true, state: 'running' });
    const runningEnd = await within(running.settled, 15_000, "the running job's stream to end");
    console.log(`running job: CANCELLED on gateway 1 ${Math.round(performance.now() - cancelledAt)} ms after the Cancel on gateway 2`);
    expect([runningEnd.error?.code, errorCodeOf(runningEnd.error)]).toEqual([status.CANCELLED, 'CANCELLED']);
    expect(summarize(runningEnd.events).done).toBe(0);
    expect((await jobRecord(redis, 'cancel-running')).state).toBe('cancelled');
    expect((await jobRecord(redis, 'cancel-queued')).state).toBe('cancelled');

    // The worker is free again, and the cancelled queued job never ran on it: a new job runs to its clip, and the
    // cancelled one's stream in Redis holds no started entry.
    const next = await within(collectSettled(two.generate({ ...request('after-cancel', ANN), steps: 2 })), 60_000, 'a job after the cancels');
    expect(next.error, `${next.error?.code} ${next.error?.details}`).toBeUndefined();
    expect(summarize(next.events).done).toBe(1);
    const queuedEntries = await recordedEvents(redis, 'cancel-queued');
    expect(queuedEntries.filter((e) => e.event === 'started').length).toBe(0);
    expect(queuedEntries.filter((e) => e.kind === 'x').length).toBe(1);
  }, 150_000);
});
