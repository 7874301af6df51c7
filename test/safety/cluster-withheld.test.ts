// The output safety check in a cluster (issue #25): the daemon-wide classifier set by ANIMATE_SAFETY_MODEL_DIR on the
// worker's command line environment withholds a red clip; the gateway's stream ends PERMISSION_DENIED +
// OUTPUT_WITHHELD with the label, no clip key was ever written to the cluster's blob store (Redis), and the gateway
// counts it in animate_refusals_total{reason="safety"}. The dark clip of the same cluster is stored and delivered.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../inference/cluster/keys.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { buildFixtureClassifier } from '../fixtures/safety-classifier.ts';
import { clipBytes, collectSettled } from '../helpers/fixture-daemon.ts';
import { errorCodeOf, metricsAddressOf, startTestCluster, within, type TestCluster } from '../helpers/cluster-processes.ts';

const keys = clusterKeys();
const request = (requestId: string, prompt: string): GenerateRequest => ({
  requestId, prompt, seed: 1, steps: 4, frames: 5, width: 32, height: 32, formats: ['MP4'], requester: { userId: 'ann', platform: 'PLAYGROUND' },
});

let cluster: TestCluster | undefined;
let dir: string | undefined;
afterAll(async () => {
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a cluster withholds a flagged clip before it reaches the blob store', () => {
  it('PERMISSION_DENIED + OUTPUT_WITHHELD on the gateway, no clip key in Redis, counted by the gateway', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'animate-safety-cluster-'));
    const classifier = await buildFixtureClassifier(path.join(dir, 'classifier'), { level: 0.6, k: 20 });
    cluster = await startTestCluster();
    const env = { ANIMATE_SAFETY_MODEL_DIR: classifier.dir, ANIMATE_LOG_LEVEL: 'info' };
    const [gateway] = await Promise.all([cluster.start('gateway', { env, metricsListen: '127.0.0.1:0' }), cluster.start('worker', { env })]);
    const client = cluster.connect(gateway);
    const redis = cluster.inspect();

    const red = await within(collectSettled(client.generate(request('safety-red', 'sunset'))), 60_000, 'the red job');
    expect([red.error?.code, errorCodeOf(red.error)]).toEqual([status.PERMISSION_DENIED, 'OUTPUT_WITHHELD']);
    expect(red.error?.details).toBe('the clip was withheld: the daemon\'s output safety check flagged it as "red", so none of it was sent; try another prompt or seed');
    expect(red.events.filter((e) => e.clip || e.done || e.preview)).toHaveLength(0);
    expect(await redis.keys(`${keys.clip('safety-red', 0, '').replace(/:0:$/, '')}:*`)).toEqual([]);

    const dark = await within(collectSettled(client.generate(request('safety-dark', 'a red ball'))), 60_000, 'the dark job');
    expect(dark.error).toBeUndefined();
    expect(clipBytes(dark.events).subarray(4, 8).toString('latin1')).toBe('ftyp');
    // The same key pattern finds the dark clip: the empty result above is not a wrong pattern.
    expect((await redis.keys(`${keys.clip('safety-dark', 0, '').replace(/:0:$/, '')}:*`)).length).toBe(1);

    const metrics = await (await fetch(`http://${await metricsAddressOf(gateway)}/metrics`)).text();
    expect(/^animate_refusals_total\{reason="safety"\} (\d+)$/m.exec(metrics)?.[1]).toBe('1');
  }, 180_000);
});
