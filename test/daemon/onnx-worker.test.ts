// The onnxruntime worker thread loads each session once: concurrent loads of one key (several runs after a worker
// crash, which reload lazily) share one load request and one native session instead of leaking duplicates.
// Real worker thread, real onnxruntime, the fixture package's text encoder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import type { TensorData, ValueInfo } from '../../inference/backend/onnx.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import type { WorkerRequest, WorkerResponse } from '../../inference/worker/protocol.ts';

let dir: string;
let modelPath: string;
let worker: OnnxWorkerClient;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-worker-'));
  const fx = await buildFixturePackage(path.join(dir, 'pkg'), {});
  modelPath = path.join(fx.dir, 'text_encoder', 'model.onnx');
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
});
afterAll(async () => {
  await worker.close();
  await rm(dir, { recursive: true, force: true });
});

/** Zero feeds for a session's inputs (symbolic dimensions as 1). */
function zeroFeeds(inputs: ValueInfo[]): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const input of inputs) {
    const dims = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[input.name] = input.type === 'int64' ? { type: 'int64', dims, data: new BigInt64Array(size) } : { type: 'float32', dims, data: new Float32Array(size) };
  }
  return feeds;
}

/** Whether the thread has come back after a crash (the first call after one may still fail WORKER_CRASHED). */
async function statsOfNewThread(client: OnnxWorkerClient) {
  for (;;) {
    try {
      return await client.stats();
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('the onnx worker loads a session once', () => {
  it('concurrent loads of one key send one load and create one native session', async () => {
    const infos = await Promise.all(Array.from({ length: 5 }, () => worker.load('te', modelPath)));
    expect(new Set(infos).size).toBe(1);
    expect(await worker.stats()).toEqual({ loadRequests: 1, sessionsCreated: 1, sessionsHeld: 1 });
    // Loaded: a later load asks the thread nothing.
    await worker.load('te', modelPath);
    expect((await worker.stats()).loadRequests).toBe(1);
  });

  it('the thread itself creates one session for concurrent load requests of one key', async () => {
    // Straight to the thread, past the client's own guard: e.g. two clients' requests, or one sent just before a reply.
    const call = (worker as unknown as { call(req: { op: WorkerRequest['op'] } & Record<string, unknown>): Promise<WorkerResponse> }).call.bind(worker);
    const before = await worker.stats();
    const replies = await Promise.all(Array.from({ length: 4 }, () => call({ op: 'load', key: 'te-raw', modelPath, options: { executionProvider: 'cpu', intraOpThreads: 1 } })));
    expect(replies.every((r) => r.ok)).toBe(true);
    const after = await worker.stats();
    expect(after.loadRequests - before.loadRequests).toBe(4);
    expect(after.sessionsCreated - before.sessionsCreated).toBe(1);
    expect(after.sessionsHeld).toBe(before.sessionsHeld + 1);
    await call({ op: 'dispose', key: 'te-raw' });
    expect((await worker.stats()).sessionsHeld).toBe(before.sessionsHeld);
  });

  it('after a crash, concurrent runs reload the session once in the new thread', async () => {
    const info = await worker.load('te', modelPath);
    worker.crash();
    const stats = await statsOfNewThread(worker);
    expect(stats).toEqual({ loadRequests: 0, sessionsCreated: 0, sessionsHeld: 0 });
    const runs = await Promise.all(Array.from({ length: 4 }, () => worker.run('te', zeroFeeds(info.inputs))));
    expect(runs).toHaveLength(4);
    expect(await worker.stats()).toEqual({ loadRequests: 1, sessionsCreated: 1, sessionsHeld: 1 });
  });

  it('a dispose during a load leaves no session behind', async () => {
    const load = worker.load('te-2', modelPath);
    await worker.dispose('te-2');
    await load;
    expect((await worker.stats()).sessionsHeld).toBe(1);
    // Not registered either: a run must load it again rather than find a session the thread no longer has.
    await expect(worker.run('te-2', {})).rejects.toThrow(/never loaded/);
  });
});
