// The Animator contract end to end: real gRPC on loopback, real onnxruntime in the worker, real ffmpeg.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { probeClip } from '../../inference/media/index.ts';
import { clipBytes, collect, collectSettled, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { loadProtos } from '../../shared/rpc/proto.ts';
import * as grpc from '@grpc/grpc-js';

let fx: FixtureDaemon;
beforeAll(async () => {
  fx = await startFixtureDaemon();
});
afterAll(async () => {
  await fx?.close();
});

describe('Generate', () => {
  it('streams queued → started → progress → previews → clip chunks → done, and the MP4 is what was asked for', async () => {
    const events = await collect(fx.client.generate({ prompt: 'a red ball bounces at night', seed: 11, steps: 4, frames: 9, width: 48, height: 32, fps: 6 }));
    const kinds = events.map((e) => e.event);
    expect(kinds[0]).toBe('queued');
    expect(kinds[1]).toBe('started');
    expect(kinds.at(-1)).toBe('done');
    const steps = events.filter((e) => e.progress?.stage === 'denoise').map((e) => e.progress!.step);
    expect(steps).toEqual([1, 2, 3, 4]);
    const previews = events.filter((e) => e.preview);
    expect(previews.length).toBeGreaterThanOrEqual(1);
    expect(previews[0]!.preview!.step).toBe(1);
    expect(previews[0]!.preview!.mimeType).toBe('image/webp');
    // The first preview follows the first step.
    expect(kinds.indexOf('preview')).toBeLessThan(kinds.lastIndexOf('progress'));

    const done = events.at(-1)!.done!;
    expect(done.seed).toBe(11);
    expect(done.model).toBe('fixture');
    expect(done.modelHash).toMatch(/^[0-9a-f]{64}$/);
    expect(done.timings!.totalMs).toBeGreaterThan(0);

    const mp4 = clipBytes(events);
    expect(mp4.length).toBe(events.find((e) => e.clip)!.clip!.totalBytes);
    const probe = await probeClip(mp4);
    expect(probe.codec).toBe('h264');
    expect(probe.pixFmt).toBe('yuv420p');
    expect(probe.frames).toBe(9);
    expect([probe.width, probe.height]).toEqual([48, 32]);
  });

  it('reports words the model does not know', async () => {
    const events = await collect(fx.client.generate({ prompt: 'a red ball juggles at night', seed: 1, steps: 1, preview: { disabled: true } }));
    expect(events.at(-1)!.done!.unknownWords).toEqual(['juggles']);
    expect(events.some((e) => e.preview)).toBe(false);
  });

  it('is bit-identical for the same seed and parameters, different for another seed', async () => {
    const req = { prompt: 'a blue cube rolls on the grass', steps: 3, frames: 5 };
    const a = clipBytes(await collect(fx.client.generate({ ...req, seed: 5 })));
    const b = clipBytes(await collect(fx.client.generate({ ...req, seed: 5 })));
    const c = clipBytes(await collect(fx.client.generate({ ...req, seed: 6 })));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('encodes every requested format, in chunks, with upscaling', async () => {
    const events = await collect(fx.client.generate({ prompt: 'a red ball', seed: 2, steps: 1, formats: ['MP4', 'GIF', 'WEBP'], upscale: 2 }));
    const gif = await probeClip(clipBytes(events, 'GIF'));
    expect(gif.codec).toBe('gif');
    expect([gif.width, gif.height]).toEqual([64, 64]);
    const webp = clipBytes(events, 'WEBP');
    expect(webp.subarray(0, 4).toString()).toBe('RIFF');
    expect(webp.subarray(8, 12).toString()).toBe('WEBP');
    const mp4 = await probeClip(clipBytes(events, 'MP4'));
    expect([mp4.width, mp4.height]).toEqual([64, 64]);
  });

  it('a retried request id streams the same job instead of generating twice', async () => {
    const req = { prompt: 'a red ball', steps: 2, requestId: 'retry-me-1' };
    const first = await collect(fx.client.generate(req));
    // The same parameters, the seed still absent (a resend with other parameters is refused: abuse.test.ts).
    const again = await collect(fx.client.generate(req));
    expect(again.at(-1)!.done!.seed).toBe(first.at(-1)!.done!.seed);
    expect(clipBytes(again).equals(clipBytes(first))).toBe(true);
    expect(again.every((e) => e.requestId === 'retry-me-1')).toBe(true);
  });
});

describe('ListModels and health', () => {
  it('lists the model with defaults, limits and vocabulary', async () => {
    const res = await fx.client.listModels();
    expect(res.defaultModel).toBe('fixture');
    const m = res.models[0]!;
    expect(m.defaults!.steps).toBe(fx.fixture.options.defaults.steps);
    expect(m.limits!.maxSteps).toBe(fx.fixture.options.limits.max_steps);
    expect(m.vocabulary).toContain('ball');
    expect(m.schedulers).toEqual(expect.arrayContaining(['euler', 'unipc', 'dpm++']));
  });

  it('answers the standard health check', async () => {
    const { health } = loadProtos();
    const client = new health.grpc.health.v1.Health(fx.daemon.address, grpc.credentials.createInsecure());
    const res = await new Promise<{ status: string }>((resolve, reject) => client.Check({ service: 'animate.v1.Animator' }, (e, r) => (e || !r ? reject(e) : resolve(r as { status: string }))));
    expect(res.status).toBe('SERVING');
    client.close();
  });
});

describe('errors', () => {
  it('NOT_FOUND for an unknown model names the known ones', async () => {
    const { error } = await collectSettled(fx.client.generate({ prompt: 'a red ball', model: 'wan-99' }));
    expect(error?.code).toBe(status.NOT_FOUND);
    expect(error?.details).toContain('fixture');
  });

  it('Cancel of an unknown id says so', async () => {
    expect(await fx.client.cancel('nope')).toEqual({ cancelled: false, state: 'unknown' });
  });
});
