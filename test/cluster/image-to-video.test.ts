// Where issues #21 and #22 meet: image-to-video through a cluster, each gateway and worker a process of its own on a
// real Redis, serving the Wan2.2-TI2V-shaped fixture package (test/fixtures/wan-fixture.ts: decode(encode(image)) is
// the image's 16×16 block means, so "the clip starts from the image" is a number). What must hold:
// 1. an image sent to a gateway reaches a worker through the blob store (animate:image:{id}, not inside BullMQ's
//    job) and is the clip's first frame, as with one daemon (test/daemon/image-to-video.test.ts);
// 2. Done.last_frame comes through the relay intact, and sent back as the image of a new request (Extend, through the
//    other gateway) starts a clip whose first frame is that last frame;
// 3. a worker killed with SIGKILL mid-job: the job restarted on the other worker still starts from the image (the
//    blob outlives the first attempt);
// 4. a resend of a request_id with another image is ALREADY_EXISTS (REQUEST_ID_REUSED) on either gateway, the check
//    made against the cluster's record; with the same image it follows the job.
// One cluster for the file (2 gateways, 2 workers): daemon start-up is most of the time on 2 cores. The kill runs last.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { collectSettled, follow } from '../helpers/fixture-daemon.ts';
import { describeJob, errorCodeOf, jobRecord, startClusterDaemon, summarize, within, type ClusterDaemon } from '../helpers/cluster-processes.ts';
import { pngImage } from '../helpers/test-images.ts';
import { bullJobId, clusterKeys, JOB_TTL_S, QUEUE_NAME } from '../../inference/cluster/keys.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { decodeImageInput } from '../../inference/media/image-input.ts';
import { startLocalRedis, type LocalRedis } from '../../tools/cluster/local-redis.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';

const MODEL = 'wan';
const SIDE = 64;
/** The fixture's VAE works in 16×16 blocks: what survives encode → decode is each block's mean. */
const BLOCK = 16;
/**
 * The kill test's job: the Wan fixture has no burn, so length comes from steps (its limits are raised to allow them);
 * enough that SIGKILL lands mid-job on a fast machine, few enough for the 40 s budget on 2 loaded cores.
 */
const KILL_STEPS = 300;
const LEASE_SECONDS = 2;
/** The package's own limits (wan-fixture.ts), with max_steps raised for the kill test. */
const LIMITS = { min_steps: 1, max_steps: 1000, min_guidance: 1, max_guidance: 20, min_frames: 1, max_frames: 17, size_multiple: 32, min_side: 32, max_side: 128, min_fps: 1, max_fps: 30, max_prompt_chars: 200 };

type RGB = [number, number, number];
const RED: RGB = [200, 40, 40];
const GREEN: RGB = [30, 180, 60];
const BLUE: RGB = [40, 60, 200];
const YELLOW: RGB = [220, 200, 40];
/** 96×64: red in the middle 64 columns, green bands either side that the centre crop to 64×64 removes. */
const banded = pngImage(96, 64, (x) => (x >= 16 && x < 80 ? RED : GREEN));
/** Left half blue, right half yellow (block-aligned, so encode → decode keeps it): the layout, not only a colour. */
const halves = pngImage(SIDE, SIDE, (x) => (x < SIDE / 2 ? BLUE : YELLOW));

const ann = { userId: 'ann', platform: 'PLAYGROUND' as const };
const request = (requestId: string, extra: Partial<GenerateRequest> = {}): GenerateRequest & { requestId: string } => ({
  requestId,
  prompt: 'a red ball bounces',
  model: MODEL,
  seed: 7,
  steps: 2,
  frames: 5,
  width: SIDE,
  height: SIDE,
  preview: { disabled: true },
  formats: ['MP4'],
  requester: ann,
  ...extra,
});

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Mean RGB of the columns [x0, x1) of a SIDE-wide RGB frame. */
function meanColour(frame: Uint8Array, x0 = 0, x1 = SIDE): number[] {
  const sums = [0, 0, 0];
  let n = 0;
  for (let y = 0; y < SIDE; y++)
    for (let x = x0; x < x1; x++, n++) for (let c = 0; c < 3; c++) sums[c]! += frame[(y * SIDE + x) * 3 + c]!;
  return sums.map((s) => s / n);
}

const fmt = (v: number[]) => v.map((x) => x.toFixed(1)).join(', ');

/** Each 16×16 block replaced by its mean: what the fixture's encode → decode makes of an image. */
function blockMeans(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let by = 0; by < SIDE; by += BLOCK)
    for (let bx = 0; bx < SIDE; bx += BLOCK)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let y = by; y < by + BLOCK; y++) for (let x = bx; x < bx + BLOCK; x++) s += rgb[(y * SIDE + x) * 3 + c]!;
        const m = Math.round(s / (BLOCK * BLOCK));
        for (let y = by; y < by + BLOCK; y++) for (let x = bx; x < bx + BLOCK; x++) out[(y * SIDE + x) * 3 + c] = m;
      }
  return out;
}

function expectColour(actual: number[], expected: RGB, what: string, tolerance = 6): void {
  for (let c = 0; c < 3; c++) expect(Math.abs(actual[c]! - expected[c]!), `${what}: channel ${c} is ${actual[c]!.toFixed(1)}, the image's ${expected[c]}`).toBeLessThan(tolerance);
}

async function framesOf(events: GenerateEvent__Output[]) {
  const video = await decodeFrames(summarize(events).clip, 'mp4');
  expect([video.width, video.height, video.frames.length]).toEqual([SIDE, SIDE, 5]);
  return video.frames;
}

let redis: LocalRedis;
let modelsDir: string;
let daemons: ClusterDaemon[] = [];
let gateways: [ClusterDaemon, ClusterDaemon];
let workers: [ClusterDaemon, ClusterDaemon];
let clients: [AnimatorConnection, AnimatorConnection];
let inspect: Redis;
const keys = clusterKeys();

beforeAll(async () => {
  const t0 = performance.now();
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-cluster-i2v-'));
  [redis] = await Promise.all([startLocalRedis(), buildWanFixturePackage(path.join(modelsDir, MODEL), { name: MODEL, maxTextLength: 16, animate: { limits: LIMITS } })]);
  const start = (role: 'gateway' | 'worker') => startClusterDaemon({ role, queueUrl: redis.url, modelsDir, model: MODEL, ...(role === 'worker' ? { leaseSeconds: LEASE_SECONDS } : {}) });
  const started = await Promise.all([start('gateway'), start('gateway'), start('worker'), start('worker')]);
  daemons = started;
  gateways = [started[0]!, started[1]!];
  workers = [started[2]!, started[3]!];
  clients = [connectAnimator(gateways[0].address), connectAnimator(gateways[1].address)];
  inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  console.log(`cluster of 2 gateways and 2 workers on the Wan fixture up in ${Math.round(performance.now() - t0)} ms`);
}, 90_000);

afterAll(async () => {
  for (const c of clients ?? []) c?.close();
  inspect?.disconnect();
  await Promise.all(daemons.map((d) => d.kill9()));
  await redis?.stop();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

/** A Generate to the end, with the job's Redis state in the failure message. */
async function generate(client: AnimatorConnection, req: GenerateRequest & { requestId: string }, ms = 30_000): Promise<GenerateEvent__Output[]> {
  const t0 = performance.now();
  const { events, error } = await within(collectSettled(client.generate(req)), ms, `${req.requestId} to finish`);
  expect(error, `${req.requestId}: ${error?.code} ${error?.details}; ${await describeJob(inspect, req.requestId)}`).toBeUndefined();
  expect(summarize(events).done, req.requestId).toBe(1);
  console.log(`${req.requestId}: clip in ${Math.round(performance.now() - t0)} ms`);
  return events;
}

/** Shared by the first two tests: the first clip and its Done.last_frame, as the relay delivered them. */
let firstClip: { frames: Uint8Array[]; lastFrame: Buffer } | undefined;

describe('image-to-video through a gateway and a worker', () => {
  it('the image travels through the blob store and, centre-cropped, is the clip\'s first frame', async () => {
    const id = 'i2v-banded';
    const events = await generate(clients[0], request(id, { image: banded, imageMimeType: 'image/png' }));
    // The worker read it from the blob store (the kill test sees it there while the job runs); once the job has ended,
    // no attempt needs it and it is gone (docs/cluster.md's key table).
    expect(await inspect.exists(keys.image(id)), `${keys.image(id)} deleted after the job ended`).toBe(0);
    const record = await jobRecord(inspect, id);
    expect(record.state).toBe('done');
    expect(workers.map((w) => w.workerId)).toContain(record.worker);

    const frames = await framesOf(events);
    const first = meanColour(frames[0]!);
    console.log(`first frame mean ${fmt(first)} (image ${RED.join(', ')}); made by ${record.worker}`);
    // No green from the cropped-off bands, and the red within the MP4's error.
    expectColour(first, RED, 'first frame');
    const done = events.at(-1)!.done!;
    expect(done.model).toBe(MODEL);
    firstClip = { frames, lastFrame: Buffer.from(done.lastFrame) };
  }, 40_000);

  it('Done.last_frame arrives through the relay; sent back as the image (Extend, other gateway) it is the new first frame', async () => {
    expect(firstClip, 'the first test made the clip to extend').toBeDefined();
    const { frames, lastFrame } = firstClip!;
    expect(lastFrame.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const last = await decodeImageInput(lastFrame, { width: SIDE, height: SIDE });
    expect(last.source).toEqual({ type: 'png', width: SIDE, height: SIDE });
    const lastVsClip = meanAbsDiff(last.rgb, frames.at(-1)!);
    const lastVsFirst = meanAbsDiff(last.rgb, frames[0]!);
    console.log(`last_frame (${lastFrame.length} bytes) vs the clip's last frame: ${lastVsClip.toFixed(2)}; vs its first: ${lastVsFirst.toFixed(2)}`);
    expect(lastVsClip, 'last_frame is the clip\'s last frame (within the MP4\'s error)').toBeLessThan(4);

    // Extend: another prompt and seed, the last frame as the image, through the other gateway.
    const events = await generate(clients[1], request('i2v-extend', { prompt: 'the ball rolls away', seed: 11, image: lastFrame, imageMimeType: 'image/png' }));
    const extended = await framesOf(events);
    const expected = blockMeans(last.rgb);
    const toExpected = meanAbsDiff(extended[0]!, expected);
    const toOldFirst = meanAbsDiff(extended[0]!, frames[0]!);
    console.log(`extended clip's first frame vs the last frame's block means: ${toExpected.toFixed(2)}; vs the first clip's first frame: ${toOldFirst.toFixed(2)}`);
    expect(toExpected, 'the extension starts from the last frame').toBeLessThan(4);
    expect(await inspect.exists(keys.image('i2v-extend')), 'the extension\'s image is deleted once it ended').toBe(0);
  }, 40_000);

  it('a resend of the request_id with another image is ALREADY_EXISTS on either gateway; the same image follows the job', async () => {
    const id = 'i2v-reuse';
    const first = await generate(clients[0], request(id, { image: banded }));
    const other = pngImage(96, 64, () => GREEN);
    // Through the other gateway the check is against the cluster's record; through the first, its own job table.
    for (const [i, client] of clients.entries()) {
      const { events, error } = await within(collectSettled(client.generate(request(id, { image: other }))), 15_000, `the resend to gateway ${i + 1}`);
      console.log(`resend with another image to gateway ${i + 1}: ${error?.code} ${errorCodeOf(error)}: ${error?.details}`);
      expect(events).toEqual([]);
      expect([error?.code, errorCodeOf(error)], `gateway ${i + 1}`).toEqual([status.ALREADY_EXISTS, 'REQUEST_ID_REUSED']);
    }
    const withoutImage = await collectSettled(clients[1].generate(request(id)));
    expect([withoutImage.error?.code, errorCodeOf(withoutImage.error)]).toEqual([status.ALREADY_EXISTS, 'REQUEST_ID_REUSED']);
    // A refused resend wrote nothing (the first job's image was deleted when it ended).
    expect(await inspect.exists(keys.image(id))).toBe(0);
    const again = await generate(clients[1], request(id, { image: Buffer.from(banded) }));
    expect(summarize(again).clip.equals(summarize(first).clip), 'the same clip, from the job\'s result').toBe(true);
  }, 40_000);
});

describe('a worker killed mid-job with an image', () => {
  it('the job restarted on the other worker still starts from the image', async () => {
    const id = 'i2v-kill';
    const t0 = performance.now();
    const stream = follow(clients[0].generate(request(id, { image: halves, steps: KILL_STEPS })));
    const atStep = (n: number) => (e: GenerateEvent__Output) => e.progress?.stage === 'denoise' && e.progress.step >= n;
    await within(stream.until(atStep(10)), 20_000, 'denoise step 10');
    const ranBy = (await jobRecord(inspect, id)).worker;
    // While it runs, BullMQ's job (bull:<queue>:<id>, BullMQ's default prefix) names the blob and holds no image bytes.
    const queuedJson = (await inspect.hget(`bull:${QUEUE_NAME}:${bullJobId(id)}`, 'data')) ?? 'null';
    const queued = JSON.parse(queuedJson) as { spec?: Record<string, unknown>; image?: { blobKey: string } } | null;
    expect(queued?.image, 'the queued job names its image').toMatchObject({ blobKey: keys.image(id) });
    expect(queued?.spec && 'inputImage' in queued.spec, 'the spec on the queue carries no image').toBe(false);
    // Neither as base64 nor as JSON's { type: 'Buffer', data: [...] }: the bytes are only in the blob.
    expect([queuedJson.includes(halves.toString('base64')), queuedJson.includes('"Buffer"')]).toEqual([false, false]);
    const killed = workers.find((w) => w.workerId === ranBy);
    const other = workers.find((w) => w !== killed)!;
    expect(killed, `the record's worker ${ranBy} is one of ours`).toBeDefined();
    await killed!.kill9();
    const stepAtKill = stream.events.filter((e) => e.progress?.stage === 'denoise').at(-1)?.progress?.step ?? 0;
    console.log(`killed ${ranBy} at step ${stepAtKill} of ${KILL_STEPS}, ${Math.round(performance.now() - t0)} ms in`);
    expect(stepAtKill, 'the kill must come mid-job (raise KILL_STEPS if the job got this far)').toBeLessThan(KILL_STEPS - 2);

    // The second attempt has begun (it read the image before announcing itself): the blob outlived the first attempt.
    await within(stream.until((e) => e.progress?.stage === 'restarted'), 20_000, 'a Progress "restarted"');
    expect((await inspect.getBuffer(keys.image(id)))?.equals(halves), 'the blob outlived the first attempt').toBe(true);
    const { events, error } = await within(stream.settled, 40_000, 'the restarted job to finish');
    expect(error, `${error?.code} ${error?.details}; ${await describeJob(inspect, id)}`).toBeUndefined();
    const s = summarize(events);
    expect({ started: s.started, restarted: s.restarted, done: s.done, repeat: s.clipOffsetsRepeat }).toEqual({ started: 1, restarted: 1, done: 1, repeat: false });
    // The second attempt ran the whole job from step 1 (it did not pick up a half-denoised latent).
    const afterRestart = events.slice(events.findIndex((e) => e.progress?.stage === 'restarted'));
    const stepsAfter = afterRestart.filter((e) => e.progress?.stage === 'denoise').map((e) => e.progress!.step);
    expect([stepsAfter[0], stepsAfter.at(-1)]).toEqual([1, KILL_STEPS]);
    console.log(`restarted job done ${Math.round(performance.now() - t0)} ms after the request`);
    const record = await jobRecord(inspect, id);
    expect([record.state, record.worker]).toEqual(['done', other.workerId]);

    // The second attempt read the same image: left half blue, right half yellow.
    const frames = await framesOf(events);
    const left = meanColour(frames[0]!, 0, SIDE / 2);
    const right = meanColour(frames[0]!, SIDE / 2, SIDE);
    console.log(`restarted clip's first frame: left ${fmt(left)} (image ${BLUE.join(', ')}), right ${fmt(right)} (image ${YELLOW.join(', ')})`);
    expectColour(left, BLUE, 'left half of the first frame');
    expectColour(right, YELLOW, 'right half of the first frame');
  }, 60_000);
});
