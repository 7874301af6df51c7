// Streams under load: backpressure (a peer that never reads costs the daemon about one clip chunk, not the clip),
// one shared history per job, caps on streams per job and per connection, and a job registry that stays cheap with
// thousands of jobs. The memory case runs the daemon CLI in its own process and reads its resident memory.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import http2 from 'node:http2';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadProtos } from '../../shared/rpc/proto.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { clipBytes, collect, collectSettled, follow, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { startDaemonProcess, type DaemonProcess } from '../helpers/daemon-process.ts';
import { Job } from '../../inference/server/job.ts';
import { JobTable } from '../../inference/server/job-table.ts';
import { CLIP_CHUNK_BYTES } from '../../inference/server/generation.ts';
import type { JobSpec } from '../../inference/server/validate.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the memory of streams whose peers never read (daemon in its own process)', () => {
  // Noise at full resolution (spatial factor 1) does not compress: 256×256×29 frames, upscaled 3×, is a ~10 MB MP4.
  const BIG: GenerateRequest = {
    prompt: 'a red ball', seed: 7, steps: 1, guidanceScale: 1, width: 256, height: 256, frames: 29, upscale: 3, formats: ['MP4'],
    preview: { disabled: true }, requestId: 'big-clip', requester: { userId: 'u1', platform: 'DISCORD', serverId: 'g1' },
  };
  const STREAMS = 300;
  let modelsDir: string;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-streams-'));
    await buildFixturePackage(path.join(modelsDir, 'fixture'), { spatialFactor: 1, limits: { max_side: 256, max_frames: 33 } });
    daemon = await startDaemonProcess({
      modelsDir,
      defaultModel: 'fixture',
      env: { ANIMATE_MAX_STREAMS_PER_JOB: String(STREAMS + 10), ANIMATE_MAX_STREAMS_PER_CONNECTION: String(STREAMS + 10) },
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it(`${STREAMS} never-read streams of a finished ~10 MB clip add at most 64 MiB, and it comes back down once they close`, async () => {
    const d = daemon!;
    const client = connectAnimator(d.address);
    try {
      const first = await collect(client.generate(BIG));
      const clip = clipBytes(first);
      expect(clip.length).toBeGreaterThan(8 * MiB);
      // A fully read replay first, so the baseline includes what any replay allocates once.
      expect(clipBytes(await collect(client.generate(BIG))).equals(clip)).toBe(true);
      await sleep(500);
      const baseline = await d.rssBytes();

      // Raw HTTP/2, so that nothing on the client side reads: each stream's data sits in flow control.
      const session = http2.connect(`http://${d.address}`);
      const body = frame(loadProtos().animator.animate.v1.Animator.service.Generate.requestSerialize(BIG));
      const responded: Array<Promise<http2.IncomingHttpHeaders>> = [];
      const streams: http2.ClientHttp2Stream[] = [];
      for (let i = 0; i < STREAMS; i++) {
        const s = session.request({ ':method': 'POST', ':path': '/animate.v1.Animator/Generate', 'content-type': 'application/grpc', te: 'trailers' });
        s.pause();
        s.on('error', () => {});
        responded.push(new Promise((resolve) => s.once('response', (headers) => resolve(headers))));
        s.end(body);
        streams.push(s);
      }
      // Every stream was accepted (a refusal is a trailers-only response, grpc-status in the headers).
      for (const headers of await Promise.all(responded)) expect(headers['grpc-status']).toBeUndefined();
      // Let the daemon write all it will; take the largest reading over a while.
      let peak = 0;
      for (let i = 0; i < 10; i++) {
        await sleep(300);
        peak = Math.max(peak, await d.rssBytes());
      }
      const grown = peak - baseline;
      // And every one was being written to: the replay reached it, then stopped at the peer's flow-control window.
      expect(streams.filter((s) => s.readableLength > 0)).toHaveLength(STREAMS);

      for (const s of streams) s.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
      // Freed buffers go back to the system as the daemon's heap is collected: poll, with time to spare.
      let after = peak;
      const bound = baseline + 16 * MiB;
      for (let i = 0; i < 60 && after > bound; i++) {
        await sleep(500);
        // A little traffic, as a real daemon has, gives the collector its occasions.
        await client.listModels();
        after = await d.rssBytes();
      }
      console.log(`[streams] clip ${(clip.length / MiB).toFixed(1)} MiB; baseline RSS ${(baseline / MiB).toFixed(0)} MiB; ${STREAMS} never-read streams: +${(grown / MiB).toFixed(1)} MiB; after close ${(after / MiB).toFixed(0)} MiB`);
      expect(grown).toBeLessThanOrEqual(64 * MiB);
      expect(after).toBeLessThanOrEqual(bound);

      // And the daemon still serves: the same clip again, whole.
      expect(clipBytes(await collect(client.generate(BIG))).equals(clip)).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe('streams of one job share its history', () => {
  let fx: FixtureDaemon;
  beforeAll(async () => {
    fx = await startFixtureDaemon({ fixture: { spatialFactor: 1, limits: { max_side: 128 } } });
  });
  afterAll(() => fx.close());

  it('every follower and a late one get the same events in order, clip in chunks of at most CLIP_CHUNK_BYTES', async () => {
    const req: GenerateRequest = { prompt: 'a red ball', seed: 3, steps: 3, width: 128, height: 128, frames: 9, upscale: 2, requestId: 'shared-1', requester: { userId: 'u', platform: 'SLACK' } };
    const a = follow(fx.client.generate(req));
    await a.until((e) => !!e.started);
    const b = follow(fx.client.generate(req));
    const [ra, rb] = await Promise.all([a.settled, b.settled]);
    expect(ra.error).toBeUndefined();
    expect(rb.error).toBeUndefined();
    const late = await collect(fx.client.generate(req));
    const clip = clipBytes(ra.events);
    const chunks = ra.events.filter((e) => e.clip);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.clip!.data.length).toBeLessThanOrEqual(CLIP_CHUNK_BYTES);
    expect(chunks.map((c) => c.clip!.offset)).toEqual(chunks.map((_, i) => i * CLIP_CHUNK_BYTES));
    for (const events of [rb.events, late]) {
      expect(clipBytes(events).equals(clip)).toBe(true);
      expect(events[0]!.queued).toBeTruthy();
      expect(events.at(-1)!.done).toBeTruthy();
      expect(events.filter((e) => e.started)).toHaveLength(1);
    }
    // A late follower gets the newest preview once, after the start and before the clip.
    const kinds = late.map((e) => e.event);
    expect(kinds.filter((k) => k === 'preview')).toHaveLength(1);
    expect(kinds.indexOf('preview')).toBeGreaterThan(kinds.indexOf('started'));
    expect(kinds.indexOf('preview')).toBeLessThan(kinds.indexOf('clip'));
    expect(late.find((e) => e.preview)!.preview!.step).toBe(ra.events.filter((e) => e.preview).at(-1)!.preview!.step);
  });
});

/** Opens streams until one is not refused with RESOURCE_EXHAUSTED (a slot frees a moment after a stream ends). */
async function acceptedStream(open: () => AsyncIterable<GenerateEvent__Output>) {
  for (let attempt = 0; ; attempt++) {
    const f = follow(open());
    const first = await Promise.race([f.until(() => true).then(() => 'event' as const, () => 'ended' as const)]);
    if (first === 'event') return f;
    const { error } = await f.settled;
    if (error?.code !== status.RESOURCE_EXHAUSTED || attempt >= 50) throw new Error(`stream not accepted: ${error?.code} ${error?.details}`);
    await sleep(100);
  }
}

describe('caps on streams', () => {
  let fx: FixtureDaemon | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });
  const slow = (id: string, user = 'u'): GenerateRequest => ({ prompt: 'a red ball', seed: 1, steps: 40, preview: { disabled: true }, requestId: id, requester: { userId: user, platform: 'DISCORD' } });

  it('per job: past the cap RESOURCE_EXHAUSTED names it; a slot frees when a stream ends', async () => {
    fx = await startFixtureDaemon({ fixture: { burnMs: 30 }, daemon: { maxStreamsPerJob: 2 } });
    const controller = new AbortController();
    const a = follow(fx.client.generate(slow('capped')));
    const b = follow(fx.client.generate(slow('capped'), { signal: controller.signal }));
    await Promise.all([a.until((e) => !!e.progress), b.until((e) => !!e.progress)]);
    const third = await collectSettled(fx.client.generate(slow('capped')));
    expect(third.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(third.error?.details).toMatch(/request capped already has 2 streams following it \(the most allowed\)/);
    expect(third.error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.TooManyStreams]);
    expect(third.events).toHaveLength(0);
    controller.abort();
    await b.settled;
    // The job goes on for the first stream, and the freed slot takes a new follower (once the daemon has seen the
    // cancellation, which travels after the client has given up).
    const fourth = await acceptedStream(() => fx!.client.generate(slow('capped')));
    await fourth.until((e) => !!e.progress);
    await fx.client.cancel('capped');
    expect((await a.settled).error?.code).toBe(status.CANCELLED);
    expect((await fourth.settled).error?.code).toBe(status.CANCELLED);
  });

  it('per connection: past the cap RESOURCE_EXHAUSTED, another connection is served, slots free when streams end', async () => {
    fx = await startFixtureDaemon({ fixture: { burnMs: 30 }, daemon: { maxStreamsPerConnection: 3, concurrency: 1 } });
    const open = [follow(fx.client.generate(slow('c1', 'a'))), follow(fx.client.generate(slow('c2', 'b'))), follow(fx.client.generate(slow('c3', 'c')))];
    await Promise.all(open.map((f) => f.until((e) => !!e.queued)));
    const refused = await collectSettled(fx.client.generate(slow('c4', 'd')));
    expect(refused.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.error?.details).toMatch(/this connection already has 3 Generate streams open \(the most allowed\)/);
    // Refused before admission: no job was queued for it.
    expect((await fx.client.cancel('c4')).state).toBe('unknown');
    // grpc-js shares one connection between clients of the same address unless told otherwise.
    const other = new (loadProtos().animator.animate.v1.Animator)(fx.daemon.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    try {
      const elsewhere = follow(other.Generate(slow('c5', 'e')) as AsyncIterable<GenerateEvent__Output>);
      await elsewhere.until((e) => !!e.queued);
      await fx.client.cancel('c5');
      expect((await elsewhere.settled).error?.code).toBe(status.CANCELLED);
    } finally {
      other.close();
    }
    await fx.client.cancel('c3');
    expect((await open[2]!.settled).error?.code).toBe(status.CANCELLED);
    const again = await acceptedStream(() => fx!.client.generate(slow('c6', 'f')));
    await again.until((e) => !!e.queued);
    for (const id of ['c1', 'c2', 'c6']) await fx.client.cancel(id);
    await Promise.all([...open.map((f) => f.settled), again.settled]);
  });
});

describe('job table', () => {
  const spec = (id: string) => ({ requestId: id }) as JobSpec;

  it('stays O(1) per call with thousands of jobs waiting, and evicts finished ones oldest first', () => {
    let now = 0;
    const registry = new JobTable({ keepFinished: 3, keepMs: 1000, now: () => now });
    const waiting: Job[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const job = new Job(spec(`q${i}`));
      registry.add(job);
      waiting.push(job);
    }
    const got: Array<Job | undefined> = new Array(20_000);
    for (let i = 0; i < 20_000; i++) got[i] = registry.get(`q${i}`);
    const ms = performance.now() - t0;
    // Checked after the timed section: only the adds and gets are timed, not 20,000 expect() calls.
    const mismatches: string[] = [];
    for (let i = 0; i < 20_000; i++) if (got[i] !== waiting[i]) mismatches.push(`q${i}`);
    expect(mismatches).toEqual([]);
    console.log(`[registry] 20,000 adds and 20,000 gets with all of them waiting: ${ms.toFixed(0)} ms`);
    // Sorting every job on every call (the old eviction) took seconds here; this is milliseconds. Generous bound.
    expect(ms).toBeLessThan(2000);

    const done = Array.from({ length: 5 }, (_, i) => new Job(spec(`d${i}`)));
    for (const j of done) registry.add(j);
    for (const j of done) j.finish();
    expect(registry.finishedCount).toBe(3);
    expect(registry.get('d0')).toBeUndefined();
    expect(registry.get('d1')).toBeUndefined();
    expect(registry.get('d2')).toBe(done[2]);
    expect(registry.get('q0')).toBe(waiting[0]);
    now = 2000; // past keepMs: every finished job is forgotten, no waiting one is
    expect(registry.get('d4')).toBeUndefined();
    expect(registry.finishedCount).toBe(0);
    expect(registry.get('q19999')).toBe(waiting[19_999]);
  });
});

/** A gRPC message frame: uncompressed flag, 4-byte length, the message. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}
