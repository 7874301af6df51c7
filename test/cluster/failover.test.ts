// Issue #21, "what must hold" 2 and 3: nothing lost, nothing twice, when a process of the cluster dies with SIGKILL.
// A worker killed mid-job: BullMQ's stalled-job recovery gives the job to the other worker once the dead one's lease
// (--lease-seconds 2) runs out, and the person's one stream goes on to exactly one clip and one Done, with a Progress
// "restarted" between. A gateway killed mid-job: the client resends the same request id to the other gateway and gets
// the job's events and clip from the job's stream in Redis, once, without the job running again.
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { probeClip } from '../../inference/media/index.ts';
import { follow } from '../helpers/fixture-daemon.ts';
import { jobRecord, recordedEvents, startTestCluster, summarize, within, type TestCluster } from '../helpers/cluster-processes.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';

/** Steps slow enough to kill a process at step ~5 of 20 (about 100 ms of burn per denoiser call, more on 1 thread). */
const SLOW = { name: 'slow', burnMs: 100, defaults: { steps: 20 } };
const STEPS = 20;
/** The worker lease in these tests: a dead worker's job runs again within about twice this. */
const LEASE_SECONDS = 2;

const request = (requestId: string): GenerateRequest => ({
  requestId,
  prompt: 'a blue cube rolls at night',
  seed: 7,
  steps: STEPS,
  frames: 5,
  width: 32,
  height: 32,
  preview: { disabled: true },
  requester: { userId: 'ann', platform: 'PLAYGROUND' },
});

const denoiseStep = (atLeast: number) => (e: GenerateEvent__Output) => e.progress?.stage === 'denoise' && e.progress.step >= atLeast;
const lastDenoiseStep = (events: GenerateEvent__Output[]) => events.filter((e) => e.progress?.stage === 'denoise').at(-1)?.progress?.step ?? 0;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('a worker killed mid-job', () => {
  it('its job is taken up by the other worker; the stream sees "restarted", then exactly one clip and one Done', async () => {
    cluster = await startTestCluster({ fixture: SLOW });
    const c = cluster;
    const [gateway, ...workers] = await Promise.all([c.start('gateway'), c.start('worker', { leaseSeconds: LEASE_SECONDS }), c.start('worker', { leaseSeconds: LEASE_SECONDS })]);
    expect(workers.map((w) => typeof w.workerId)).toEqual(['string', 'string']);
    const redis = c.inspect();
    const id = 'kill-a-worker';
    const stream = follow(c.connect(gateway).generate(request(id)));
    await within(stream.until(denoiseStep(5)), 30_000, 'denoise step 5');
    // The record names the worker running the job: that one dies.
    const ranBy = (await jobRecord(redis, id)).worker;
    const killed = workers.find((w) => w.workerId === ranBy);
    const other = workers.find((w) => w !== killed)!;
    expect(killed, `the record's worker ${ranBy} is one of ours (${workers.map((w) => w.workerId).join(', ')})`).toBeDefined();
    const stepAtKill = lastDenoiseStep(stream.events);
    await killed!.kill9();
    const killedAt = performance.now();
    console.log(`killed worker ${ranBy} at step ${stepAtKill} of ${STEPS}`);
    expect(stepAtKill, 'the kill must come mid-job (slow the fixture down if the job got this far)').toBeLessThan(STEPS - 2);

    await within(stream.until((e) => e.progress?.stage === 'restarted'), 30_000, 'a Progress "restarted"');
    console.log(`failover: ${Math.round(performance.now() - killedAt)} ms from SIGKILL to "restarted" (lease ${LEASE_SECONDS} s)`);
    const { events, error } = await within(stream.settled, 60_000, 'the stream to end');
    expect(error, `${error?.code} ${error?.details}`).toBeUndefined();

    const s = summarize(events);
    expect({ started: s.started, restarted: s.restarted, done: s.done, repeat: s.clipOffsetsRepeat }).toEqual({ started: 1, restarted: 1, done: 1, repeat: false });
    expect(events.at(-1)!.done, 'Done is the last event').toBeTruthy();
    expect(s.clip.length).toBe(s.clipDeclaredBytes);
    const probe = await probeClip(s.clip);
    expect([probe.codec, probe.frames, probe.width, probe.height]).toEqual(['h264', 5, 32, 32]);
    // After the restart the steps count again from 1 and run to the end.
    const afterRestart = events.slice(events.findIndex((e) => e.progress?.stage === 'restarted'));
    const stepsAfter = afterRestart.filter((e) => e.progress?.stage === 'denoise').map((e) => e.progress!.step);
    expect(stepsAfter[0]).toBe(1);
    expect(stepsAfter.at(-1)).toBe(STEPS);

    // Made by the other worker: the killed one is dead, the other alive, and the record now names the other one.
    expect(killed!.alive()).toBe(false);
    expect(other.alive()).toBe(true);
    const record = await jobRecord(redis, id);
    expect(record.worker).toBe(other.workerId);
    expect(record.state).toBe('done');
    // In Redis too: one end, written once.
    const recorded = await recordedEvents(redis, id);
    expect(recorded.filter((e) => e.event === 'done').length).toBe(1);
    expect(recorded.filter((e) => e.kind === 'x').length).toBe(1);
    expect(recorded.at(-1)!.kind).toBe('x');
  }, 150_000);
});

describe('a gateway killed mid-job', () => {
  it('the same request id resent to the other gateway streams the job to its clip, once, without running it again', async () => {
    cluster = await startTestCluster({ fixture: SLOW });
    const c = cluster;
    const [g1, g2, worker] = await Promise.all([c.start('gateway'), c.start('gateway'), c.start('worker')]);
    const id = 'kill-a-gateway';
    const onFirst = follow(c.connect(g1).generate(request(id)));
    await within(onFirst.until(denoiseStep(3)), 30_000, 'denoise step 3 through the first gateway');
    const stepAtKill = lastDenoiseStep(onFirst.events);
    await g1.kill9();
    const lost = await within(onFirst.settled, 20_000, 'the first stream to end once its gateway died');
    console.log(`killed the first gateway at step ${stepAtKill} of ${STEPS}; its stream ended ${lost.error ? `${lost.error.code} ${lost.error.details}` : 'OK'}`);
    // grpc-js's word for a dropped connection (UNAVAILABLE); the point is that the stream ended without a Done.
    expect(lost.error?.code).toBe(status.UNAVAILABLE);
    expect(summarize(lost.events).done).toBe(0);
    expect(stepAtKill).toBeLessThan(STEPS - 2);

    // The client's retry: the same request (id, requester, parameters) to the other gateway.
    const resent = await within(follow(c.connect(g2).generate(request(id))).settled, 60_000, 'the resent stream to end');
    expect(resent.error, `${resent.error?.code} ${resent.error?.details}`).toBeUndefined();
    const s = summarize(resent.events);
    expect({ done: s.done, restarted: s.restarted, repeat: s.clipOffsetsRepeat }).toEqual({ done: 1, restarted: 0, repeat: false });
    expect(resent.events.every((e) => e.requestId === id)).toBe(true);
    expect(resent.events.at(-1)!.done!.seed).toBe(7);
    expect(s.clip.length).toBe(s.clipDeclaredBytes);
    const probe = await probeClip(s.clip);
    expect([probe.codec, probe.frames]).toEqual(['h264', 5]);
    expect(worker.alive()).toBe(true);

    // The job ran once: one started entry, one end, in its stream in Redis.
    const recorded = await recordedEvents(c.inspect(), id);
    expect(recorded.filter((e) => e.event === 'started').length).toBe(1);
    expect(recorded.filter((e) => e.stage === 'restarted').length).toBe(0);
    expect(recorded.filter((e) => e.kind === 'x').length).toBe(1);

    // A second resend after the end gets the same finished clip, from the result kept in Redis.
    const again = await within(follow(c.connect(g2).generate(request(id))).settled, 30_000, 'a resend after the end');
    expect(again.error).toBeUndefined();
    const s2 = summarize(again.events);
    expect(s2.done).toBe(1);
    expect(s2.clip.equals(s.clip)).toBe(true);
  }, 150_000);
});
