// Issue #21, bad input and faults: the queue's Redis unreachable at start-up is a clear error naming the setting, and
// Redis lost at run time is reported, never a hang: health NOT_SERVING, new calls UNAVAILABLE (QUEUE_UNAVAILABLE)
// with a message, calls in flight ended with a status. Redis restarted without persistence (empty): the gateway
// serves again and a new job runs to its clip.
import { afterAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { collectSettled, follow } from '../helpers/fixture-daemon.ts';
import {
  closedLoopbackPort,
  errorCodeOf,
  healthStatus,
  runDaemonToExit,
  startTestCluster,
  summarize,
  waitFor,
  within,
  type TestCluster,
} from '../helpers/cluster-processes.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { GenerateRequest } from '../../shared/rpc/types.ts';

const SLOW = { name: 'slow', burnMs: 100, defaults: { steps: 20 } };
/** Generous bounds: what is tested is that each happens, not how fast; the figures are printed. */
const HEALTH_FLIP_MS = 15_000;
const IN_FLIGHT_END_MS = 45_000;
const BACK_TO_SERVING_MS = 30_000;

const request = (requestId: string, steps: number): GenerateRequest => ({
  requestId,
  prompt: 'a red ball bounces at sunset',
  seed: 9,
  steps,
  frames: 5,
  width: 32,
  height: 32,
  preview: { disabled: true },
  requester: { userId: 'ann', platform: 'PLAYGROUND' },
});

describe('Redis unreachable at start-up', () => {
  it('the daemon exits non-zero with a message naming --queue / ANIMATE_QUEUE_URL, by flag or by variable', async () => {
    const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-cluster-models-'));
    try {
      await buildFixturePackage(path.join(modelsDir, 'fixture'));
      const port = await closedLoopbackPort();
      const common = ['--listen', '127.0.0.1:0', '--models-dir', modelsDir, '--model', 'fixture', '--threads', '1'];
      const [byFlag, byVariable] = await Promise.all([
        runDaemonToExit([...common, '--queue', `redis://127.0.0.1:${port}`, '--role', 'gateway']),
        runDaemonToExit(common, { ANIMATE_QUEUE_URL: `redis://127.0.0.1:${port}`, ANIMATE_ROLE: 'worker' }),
      ]);
      for (const [how, run] of [['flag', byFlag], ['variable', byVariable]] as const) {
        console.log(`${how}: exit ${run.code ?? run.signal} after ${run.ms} ms: ${run.output.trim()}`);
        expect(run.signal, `${how}: it exited by itself (not killed after the bound)`).toBeNull();
        expect(run.code, `${how}: exit code`).not.toBe(0);
        expect(run.output, how).toMatch(/ANIMATE_QUEUE_URL/);
        expect(run.output, how).toContain(String(port));
        expect(run.output, `${how}: no stack trace`).not.toMatch(/\n\s+at /);
      }
    } finally {
      await rm(modelsDir, { recursive: true, force: true });
    }
  }, 90_000);
});

let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

describe('Redis lost at run time, then restarted empty', () => {
  it('health NOT_SERVING, new calls UNAVAILABLE QUEUE_UNAVAILABLE, the call in flight ends; after the restart, SERVING and a job succeeds', async () => {
    cluster = await startTestCluster({ fixture: SLOW });
    const c = cluster;
    const [gateway] = await Promise.all([c.start('gateway'), c.start('worker')]);
    const client = c.connect(gateway);
    expect(await healthStatus(gateway.address)).toBe('SERVING');

    const inFlight = follow(client.generate(request('in-flight', 20)));
    await within(inFlight.until((e) => e.progress?.stage === 'denoise' && e.progress.step >= 2), 30_000, 'the job in flight to be denoising');

    c.redis.kill('SIGKILL');
    const killedAt = performance.now();
    const flipMs = await waitFor(async () => (await healthStatus(gateway.address)) === 'NOT_SERVING', 'health NOT_SERVING after Redis died', HEALTH_FLIP_MS, 200);
    console.log(`health NOT_SERVING ${flipMs} ms after Redis was killed`);

    const refused = await within(collectSettled(client.generate(request('while-down', 2))), 15_000, 'a new Generate while Redis is down');
    expect([refused.error?.code, errorCodeOf(refused.error)]).toEqual([status.UNAVAILABLE, 'QUEUE_UNAVAILABLE']);
    expect(refused.error?.details.length, 'a message for people').toBeGreaterThan(10);
    expect(refused.events.filter((e) => e.done).length).toBe(0);

    const ended = await within(inFlight.settled, IN_FLIGHT_END_MS, 'the call in flight to end (it must not hang)');
    console.log(`call in flight ended ${Math.round(performance.now() - killedAt)} ms after Redis was killed: ${ended.error ? `${ended.error.code} ${errorCodeOf(ended.error)} ${ended.error.details}` : 'OK'}`);
    expect([ended.error?.code, errorCodeOf(ended.error)]).toEqual([status.UNAVAILABLE, 'QUEUE_UNAVAILABLE']);
    expect(summarize(ended.events).done).toBe(0);

    // Back, empty (no persistence): the gateway serves again and the cluster runs a new job end to end.
    await c.redis.restart();
    const backMs = await waitFor(async () => (await healthStatus(gateway.address)) === 'SERVING', 'health SERVING after Redis came back', BACK_TO_SERVING_MS, 200);
    console.log(`health SERVING ${backMs} ms after Redis restarted`);
    const after = await within(collectSettled(client.generate(request('after-restart', 2))), 60_000, 'a job after the restart');
    expect(after.error, `${after.error?.code} ${after.error?.details}`).toBeUndefined();
    const s = summarize(after.events);
    expect(s.done).toBe(1);
    expect(s.clip.length).toBe(s.clipDeclaredBytes);
    expect(s.clip.length).toBeGreaterThan(0);
  }, 180_000);
});
