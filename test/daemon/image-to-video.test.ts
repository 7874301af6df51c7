/**
 * Image-to-video through a real daemon on loopback: a Wan2.2-TI2V-shaped fixture package with a vae_encoder
 * (test/fixtures/wan-fixture.ts, whose decode(encode(image)) is the image's 16×16 block means) beside the plain
 * fixture package without one. Checks the image reaches the first frame after the centre crop, Done.last_frame is the
 * clip's last frame as a PNG, the request fingerprint includes the image, and every refusal's status and message:
 * a model without an encoder, the limits, a mime type that disagrees, a message past the gRPC receive limit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pngImage as png, pngChunk } from '../helpers/test-images.ts';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { collect, collectSettled } from '../helpers/fixture-daemon.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { decodeImageInput } from '../../inference/media/image-input.ts';
import { silentLogger } from '../../inference/log.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';
import { MAX_IMAGE_BYTES, MAX_REQUEST_MESSAGE_BYTES } from '../../shared/wire/image-limits.ts';


const RED: [number, number, number] = [200, 40, 40];
const GREEN: [number, number, number] = [30, 180, 60];
/** 96×64: red in the middle 64 columns, green bands of 16 on each side, which the centre crop to 64×64 removes. */
const banded = png(96, 64, (x) => (x >= 16 && x < 80 ? RED : GREEN));

const alice = { userId: 'alice', channelId: 'c1', platform: 'DISCORD' as const, serverId: 'g1', displayName: 'Alice' };

let modelsDir: string;
let daemon: RunningDaemon;
let client: AnimatorConnection;

beforeAll(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-i2v-'));
  await buildFixturePackage(path.join(modelsDir, 'fixture'), { name: 'fixture' });
  await buildWanFixturePackage(path.join(modelsDir, 'wan'), { name: 'wan', maxTextLength: 16 });
  daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: silentLogger });
  client = connectAnimator(daemon.address);
}, 120_000);

afterAll(async () => {
  client?.close();
  await daemon?.close({ graceMs: 0 });
  await rm(modelsDir, { recursive: true, force: true });
});

function request(id: string, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { prompt: 'a red ball bounces', model: 'wan', seed: 7, steps: 2, frames: 5, width: 64, height: 64, requestId: id, requester: alice, preview: { disabled: true }, formats: ['MP4'], ...extra };
}

function clipOf(events: GenerateEvent__Output[]): Buffer {
  return Buffer.concat(events.filter((e) => e.clip).map((e) => e.clip!.data));
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function meanColour(frame: Uint8Array): number[] {
  const sums = [0, 0, 0];
  for (let i = 0; i < frame.length; i++) sums[i % 3]! += frame[i]!;
  return sums.map((s) => s / (frame.length / 3));
}

describe('image-to-video through the daemon', () => {
  it('the image, centre-cropped, is the clip\'s first frame; Done.last_frame is the last frame as a PNG', async () => {
    const t0 = performance.now();
    const events = await collect(client.generate(request('i2v-1', { image: banded, imageMimeType: 'image/png' })));
    console.info(`image-to-video clip in ${(performance.now() - t0).toFixed(0)} ms`);
    const done = events.at(-1)!.done!;
    expect(done.model).toBe('wan');
    const video = await decodeFrames(clipOf(events), 'mp4');
    expect([video.width, video.height, video.frames.length]).toEqual([64, 64, 5]);
    const first = meanColour(video.frames[0]!);
    console.info(`first frame mean colour ${first.map((v) => v.toFixed(1)).join(', ')} (image ${RED.join(', ')})`);
    // No green from the cropped-off bands, and the red within the MP4's error.
    for (let c = 0; c < 3; c++) expect(Math.abs(first[c]! - RED[c]!)).toBeLessThan(6);

    expect(done.lastFrame.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    console.info(`last_frame: ${done.lastFrame.length} bytes`);
    expect(done.lastFrame.length).toBeLessThan(64 * 64 * 3);
    const last = await decodeImageInput(done.lastFrame, { width: 64, height: 64 });
    expect(last.source).toEqual({ type: 'png', width: 64, height: 64 });
    expect(meanAbsDiff(last.rgb, video.frames.at(-1)!)).toBeLessThan(4);
  }, 120_000);

  it('another image gives another clip from the same seed (the image reaches the pipeline)', async () => {
    const green = png(64, 64, () => GREEN);
    const events = await collect(client.generate(request('i2v-2', { image: green })));
    const video = await decodeFrames(clipOf(events), 'mp4');
    const first = meanColour(video.frames[0]!);
    for (let c = 0; c < 3; c++) expect(Math.abs(first[c]! - GREEN[c]!)).toBeLessThan(6);
  }, 120_000);

  it('a text-to-video clip still gets its last frame', async () => {
    const events = await collect(client.generate({ prompt: 'a red ball', seed: 3, steps: 2, requestId: 't2v-1', requester: alice, preview: { disabled: true } }));
    const done = events.at(-1)!.done!;
    const last = await decodeImageInput(done.lastFrame, { width: done.width, height: done.height });
    expect(last.source).toEqual({ type: 'png', width: done.width, height: done.height });
  }, 120_000);

  it('a resend of a request_id with another image is REQUEST_ID_REUSED; with the same image it follows the job', async () => {
    const first = await collect(client.generate(request('i2v-3', { image: banded })));
    const other = png(96, 64, () => RED);
    const { events, error } = await collectSettled(client.generate(request('i2v-3', { image: other })));
    expect(events).toHaveLength(0);
    expect(error?.code).toBe(status.ALREADY_EXISTS);
    expect(error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.RequestIdReused]);
    const withoutImage = await collectSettled(client.generate(request('i2v-3')));
    expect(withoutImage.error?.code).toBe(status.ALREADY_EXISTS);
    const again = await collect(client.generate(request('i2v-3', { image: Buffer.from(banded) })));
    expect(clipOf(again).equals(clipOf(first))).toBe(true);
  }, 120_000);
});

describe('image refusals', () => {
  async function refused(req: GenerateRequest) {
    const t0 = performance.now();
    const { events, error } = await collectSettled(client.generate(req));
    console.info(`refused in ${(performance.now() - t0).toFixed(0)} ms: ${error?.details}`);
    expect(events).toHaveLength(0);
    return error!;
  }

  it('ListModels says which models take an image: the one with a vae_encoder/, not the other', async () => {
    const { models } = await client.listModels();
    expect(Object.fromEntries(models.map((m) => [m.name, m.acceptsImage]))).toEqual({ wan: true, fixture: false });
  });

  it('a model without a vae_encoder refuses an image with INVALID_ARGUMENT naming the model', async () => {
    const error = await refused({ prompt: 'a red ball', model: 'fixture', requestId: 'no-enc', requester: alice, image: banded });
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe('image: model "fixture" cannot start a clip from an image (its package has no vae_encoder/model.onnx); send the request without an image, or choose a model that takes one');
    expect(error.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.InvalidArgument]);
  });

  it('limits: bytes, type, dimensions, mime type; each INVALID_ARGUMENT naming the field', async () => {
    const cases: Array<[Partial<GenerateRequest>, string]> = [
      [{ image: Buffer.concat([banded, Buffer.alloc(MAX_IMAGE_BYTES + 1 - banded.length)]) }, 'image: is 10.0 MiB (10485761 bytes); at most 10 MiB (10485760 bytes) allowed'],
      [{ image: Buffer.from('BM not an image at all, not at all') }, 'image: is not an image of an accepted type (its first bytes are not those of any); allowed: PNG, JPEG, WEBP, GIF'],
      [{ image: png(8, 8, () => RED) }, 'image: is 8×8 pixels; at least 16×16 needed'],
      [{ image: banded, imageMimeType: 'image/jpeg' }, 'image_mime_type: says "image/jpeg" but the image is a PNG (image/png); send the matching type, or leave it empty to have it read from the bytes'],
      [{ imageMimeType: 'image/png' }, 'image_mime_type: "image/png" is given without an image; send the image with it, or leave both empty'],
    ];
    for (const [extra, message] of cases) {
      const error = await refused(request(`limit-${message.length}`, extra));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toBe(message);
    }
  });

  it('a message past the receive limit is refused by grpc-js with RESOURCE_EXHAUSTED', async () => {
    const error = await refused(request('too-big', { image: Buffer.alloc(MAX_REQUEST_MESSAGE_BYTES + 1024) }));
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('a damaged image that passes the header checks fails at decode with INVALID_ARGUMENT, the daemon still serving', async () => {
    const broken = Buffer.concat([banded.subarray(0, 33), pngChunk('IDAT', Buffer.from('garbage, not zlib')), pngChunk('IEND', Buffer.alloc(0))]);
    const { error } = await collectSettled(client.generate(request('broken', { image: broken })));
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toBe('image: the PNG image (96×64) cannot be decoded: its data is damaged or truncated, or uses a variant the decoder lacks');
    const ok = await collect(client.generate(request('after-broken', { image: banded })));
    expect(ok.at(-1)!.done).toBeTruthy();
  }, 120_000);
});
