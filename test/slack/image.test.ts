// Image-to-video on Slack: an image shared with an @mention (its own file, or shared earlier in the thread) is
// downloaded from the emulator's file host with the bot token and sent to a real daemon as GenerateRequest.image.
// Bolt's real HTTP receiver and Web API client talk to the emulator; what the bot fetched is read from the emulator's
// download log, what it asked the daemon for from a recording connection.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { pngImage, recordingConnection, type RecordingConnection } from '../helpers/test-images.ts';
import { buttonsOf, clipsInThread, startSlackHarness, statusMessages, type SlackHarness } from './emulator/harness.ts';

const CH = 'C0GENERAL';
const ALICE = 'U0ALICE';

let fx: FixtureDaemon;
let h: SlackHarness;
let recorder: RecordingConnection;

let wanDir: string;

beforeAll(async () => {
  // "wan" (the Wan2.2-TI2V-shaped fixture) has a vae_encoder, so it takes images; the default fixture model does not.
  wanDir = await mkdtemp(path.join(os.tmpdir(), 'animate-slack-wan-'));
  await buildWanFixturePackage(path.join(wanDir, 'wan'), { name: 'wan' });
  fx = await startFixtureDaemon({ daemon: { concurrency: 2, modelDirs: [path.join(wanDir, 'wan')] } });
  recorder = recordingConnection(fx.client);
  h = await startSlackHarness({ connection: recorder });
});
afterAll(async () => {
  await h?.close();
  await fx?.close();
  if (wanDir) await rm(wanDir, { recursive: true, force: true });
});

const mention = (text: string) => `<@${h.emulator.botUserId}> ${text}`;
const requestFor = (eventId: string) => recorder.sent.find((r) => r.requestId === `slack:ev:${eventId}`);
const downloadsOf = (file: Record<string, unknown>) => h.emulator.fileDownloads.filter((d) => d.fileId === file.id);

/** The text of the bot's last status reply in a thread once it is final (done or refused). */
async function settledStatus(threadTs: string): Promise<string> {
  return h.emulator.waitFor(() => {
    const last = statusMessages(h.emulator, CH, threadTs).at(-1)?.history.at(-1)?.text ?? '';
    return /Done|:warning:/.test(last) && last;
  }, 60_000, 'a final status in the thread');
}

describe('an image shared with a mention', () => {
  it('downloads the mention’s own image with the bot token and sends its bytes to the daemon', async () => {
    const png = pngImage(32, 32, (x, y) => [255 - x * 4, y * 4, 60]);
    const { ts, file } = h.emulator.shareFile(ALICE, CH, png, 'ball.png', 'image/png', { text: mention('a red ball bounces --seed 9 --steps 2') });
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: mention('a red ball bounces --seed 9 --steps 2'), channel: CH, ts, files: [file] } });
    expect(sent.status).toBe(200);
    await settledStatus(ts);
    const request = requestFor(sent.eventId);
    expect(request, 'a GenerateRequest for the mention').toBeDefined();
    expect(Buffer.from(request!.image as Uint8Array).equals(png)).toBe(true);
    expect(request!.imageMimeType).toBe('image/png');
    expect(request!.prompt).toBe('a red ball bounces');
    expect(request!.seed).toBe(9);
    expect(downloadsOf(file)).toEqual([expect.objectContaining({ authorized: true, status: 200 })]);
  });

  it('takes the latest image the person shared earlier in the thread', async () => {
    const first = pngImage(16, 16, () => [10, 10, 10]);
    const second = pngImage(16, 16, () => [250, 250, 10]);
    const { ts: parentTs } = h.emulator.shareFile(ALICE, CH, first, 'first.png', 'image/png', { text: 'my drawing' });
    h.emulator.shareFile(ALICE, CH, second, 'second.png', 'image/png', { threadTs: parentTs, text: 'a better one' });
    const reply = h.sender.userMessage(CH, ALICE, mention('the star spins --steps 2'), parentTs);
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: mention('the star spins --steps 2'), channel: CH, ts: reply.ts, thread_ts: parentTs } });
    await settledStatus(parentTs);
    const request = requestFor(sent.eventId);
    expect(request, 'a GenerateRequest for the mention').toBeDefined();
    expect(Buffer.from(request!.image as Uint8Array).equals(second)).toBe(true);
    expect(h.emulator.callsOf('conversations.replies').some((c) => c.params.ts === parentTs)).toBe(true);
  });

  it('a mention without any image is a question, and sends no image', async () => {
    const m = h.sender.userMessage(CH, ALICE, mention('how does a ball bounce?'));
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: mention('how does a ball bounce?'), channel: CH, ts: m.ts } });
    await settledStatus(m.ts);
    expect(requestFor(sent.eventId)).toBeDefined();
    expect(requestFor(sent.eventId)!.image ?? Buffer.alloc(0)).toHaveLength(0);
  });
});

describe('refused images', () => {
  it('refuses a file over the limit before downloading it, and says so in the thread', async () => {
    const { ts, file } = h.emulator.shareFile(ALICE, CH, pngImage(16, 16), 'huge.png', 'image/png', { declaredSize: 50 * 1024 * 1024 });
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: mention('a red ball'), channel: CH, ts, files: [file] } });
    const text = await settledStatus(ts);
    expect(text).toContain('"huge.png" is 50 MB; at most 10 MB');
    expect(downloadsOf(file)).toHaveLength(0);
    expect(requestFor(sent.eventId)).toBeUndefined();
  });

  it('never sends the bot token to a host that is not the file host', async () => {
    const { ts, file } = h.emulator.shareFile(ALICE, CH, pngImage(16, 16), 'elsewhere.png', 'image/png', { urlPrivate: 'https://attacker.example/steal.png' });
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: mention('a red ball'), channel: CH, ts, files: [file] } });
    const text = await settledStatus(ts);
    expect(text).toContain("not on this platform's file host (attacker.example)");
    expect(requestFor(sent.eventId)).toBeUndefined();
  });

  it('refuses a non-image file by its bytes', async () => {
    const { ts, file } = h.emulator.shareFile(ALICE, CH, Buffer.from('%PDF-1.4 not an image'), 'scan.png', 'image/png');
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: mention('a red ball'), channel: CH, ts, files: [file] } });
    expect(await settledStatus(ts)).toContain('"scan.png" is not a PNG, JPEG, WebP or GIF image');
    expect(requestFor(sent.eventId)).toBeUndefined();
  });
});

describe('Extend', () => {
  it('a clip from a shared image ends with Extend, which continues from its last frame in the same thread', async () => {
    const png = pngImage(64, 64, (x) => [x * 4, 40, 200]);
    const text = mention('a red ball rolls --seed 21 --steps 2 --model wan');
    const { ts, file } = h.emulator.shareFile(ALICE, CH, png, 'start.png', 'image/png', { text });
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text, channel: CH, ts, files: [file] } });
    expect(await settledStatus(ts)).toMatch(/Done/);
    const jobId = `slack:ev:${sent.eventId}`;
    const first = requestFor(sent.eventId)!;
    expect(Buffer.from(first.image as Uint8Array).equals(png)).toBe(true);
    await h.emulator.waitFor(() => clipsInThread(h.emulator, CH, ts).length > 0, 30_000, 'the clip');
    const status = statusMessages(h.emulator, CH, ts).find((m) => buttonsOf(m)['animate_extend'])!;
    expect(Object.keys(buttonsOf(status)).sort()).toEqual(['animate_extend', 'animate_refine', 'animate_reroll', 'animate_variations']);
    const lastFrame = h.core.jobs.get(jobId)?.result?.lastFrame;
    expect(lastFrame?.length, 'the daemon sent the clip’s last frame').toBeGreaterThan(0);

    const before = recorder.sent.length;
    await h.sender.blockAction({ actionId: 'animate_extend', value: jobId, user: ALICE, channel: CH, messageTs: status.ts, threadTs: ts });
    await h.emulator.waitFor(() => clipsInThread(h.emulator, CH, ts).length >= 2, 60_000, 'the extended clip');
    const extended = recorder.sent.slice(before)[0]!;
    expect(Buffer.from(extended.image as Uint8Array).equals(lastFrame!)).toBe(true);
    expect(extended.prompt).toBe('a red ball rolls');
    expect(extended.model).toBe('wan');
    expect(extended.seed).not.toBe(21);
    console.log(`slack extend: ${lastFrame!.length}-byte last frame; seed 21 → ${extended.seed}`);
  });
});
