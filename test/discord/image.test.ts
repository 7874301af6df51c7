// Image-to-video and Extend on Discord: the real discord.js client running the plugin against the local emulator,
// whose CDN serves the file a person attached to /animate (data.resolved.attachments), and a real daemon. What the
// bot fetched is read from the emulator's CDN log and what it asked the daemon for from a recording connection, so
// each bound (size declared and while reading, host, type, time) is checked by what did and did not happen.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClip } from '../../inference/media/index.ts';
import { buildWanFixturePackage } from '../fixtures/wan-fixture.ts';
import { isClipMessage, startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import type { EmuInteraction, EmuMessage } from './emulator/index.ts';
import { pngImage, recordingConnection, type RecordingConnection } from '../helpers/test-images.ts';

let h: DiscordHarness;
let recorder: RecordingConnection;
const MAX_IMAGE_BYTES = 64 * 1024;

let wanDir: string;

beforeAll(async () => {
  // "wan" (the Wan2.2-TI2V-shaped fixture) has a vae_encoder, so it takes images; the default fixture model does not.
  wanDir = await mkdtemp(path.join(os.tmpdir(), 'animate-discord-wan-'));
  await buildWanFixturePackage(path.join(wanDir, 'wan'), { name: 'wan' });
  h = await startDiscordHarness({
    daemon: { modelDirs: [path.join(wanDir, 'wan')], concurrency: 2 },
    wrapConnection: (c) => (recorder = recordingConnection(c)),
    plugin: { maxImageBytes: MAX_IMAGE_BYTES, imageTimeoutMs: 800 },
  });
});
afterAll(async () => {
  await h?.close();
  if (wanDir) await rm(wanDir, { recursive: true, force: true });
});

const requestFor = (interaction: EmuInteraction) => recorder.sent.find((r) => r.requestId === `discord-${interaction.id}`);
const replyOf = (interaction: EmuInteraction) => h.discord.originalMessage(interaction)?.content ?? '';
const cdnHits = (id: string) => h.discord.cdnRequests.filter((r) => r.path.startsWith(`/attachments/${id}/`)).length;

/** The reply's final text once it says done or refused. */
async function settled(interaction: EmuInteraction): Promise<string> {
  return h.discord.waitFor(() => /✅ Done:|⚠️/.test(replyOf(interaction)) && replyOf(interaction), 60_000, 'the reply to settle');
}

describe('/animate image:', () => {
  it('fetches the attachment from the CDN once, sends its bytes and type to the daemon, and posts the clip', async () => {
    const png = pngImage(64, 64, (x, y) => [x * 4, y * 4, 128]);
    const file = h.discord.uploadAttachment(png, 'ball.png', 'image/png');
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball bounces', seed: 3, steps: 2, model: 'wan', image: file.id });
    expect(await settled(interaction)).toContain('✅ Done:');
    const clip = await h.waitForClip(h.discord.originalMessage(interaction)!.threadId!);
    const mp4 = clip.attachments.find((a) => a.filename.endsWith('.mp4'))!;
    expect(await probeClip(mp4.data)).toMatchObject({ codec: 'h264', width: 64, height: 64 });
    const sent = requestFor(interaction);
    expect(sent, 'a GenerateRequest for the command').toBeDefined();
    expect(Buffer.from(sent!.image as Uint8Array).equals(png)).toBe(true);
    expect(sent!.imageMimeType).toBe('image/png');
    expect(sent!.prompt).toBe('a red ball bounces');
    expect(cdnHits(file.id)).toBe(1);
    console.log(`image ${png.length} bytes → request ${(sent!.image as Uint8Array).length} bytes; reply: ${replyOf(interaction).split('\n')[0]}`);
  });

  it('on a model that takes no image, the daemon’s refusal names the model', async () => {
    const file = h.discord.uploadAttachment(pngImage(32, 32), 'ball.png', 'image/png');
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball bounces', steps: 2, image: file.id });
    const text = await settled(interaction);
    expect(text).toContain('model "fixture" cannot start a clip from an image');
    expect(requestFor(interaction)?.image).toBeDefined();
  });

  it('without an image the request carries none', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a blue star spins', seed: 4, steps: 2 });
    await settled(interaction);
    expect(requestFor(interaction), 'a GenerateRequest for the command').toBeDefined();
    expect(requestFor(interaction)?.image ?? Buffer.alloc(0)).toHaveLength(0);
    expect(requestFor(interaction)?.imageMimeType ?? '').toBe('');
  });

  it('refuses an attachment Discord says is over the limit without fetching it', async () => {
    const file = h.discord.uploadAttachment(pngImage(16, 16), 'huge.png', 'image/png', { declaredSize: 5 * 1024 * 1024 });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: file.id });
    const text = await settled(interaction);
    expect(text).toContain('⚠️');
    expect(text).toContain('"huge.png" is 5 MB; at most 0.1 MB');
    expect(cdnHits(file.id)).toBe(0);
    expect(requestFor(interaction)).toBeUndefined();
  });

  it('stops reading a body that grows past the limit (no Content-Length, size understated)', async () => {
    const big = Buffer.concat([pngImage(16, 16), Buffer.alloc(MAX_IMAGE_BYTES * 3)]);
    const file = h.discord.uploadAttachment(big, 'sneaky.png', 'image/png', { declaredSize: 1000, chunked: true });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: file.id });
    const text = await settled(interaction);
    expect(text).toContain('"sneaky.png" is larger than 0.1 MB');
    expect(cdnHits(file.id)).toBe(1);
    expect(requestFor(interaction)).toBeUndefined();
  });

  it('fetches nothing from a host that is not the CDN', async () => {
    const file = h.discord.uploadAttachment(pngImage(16, 16), 'elsewhere.png', 'image/png', { url: 'http://169.254.169.254/latest/meta-data/x.png' });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: file.id });
    const text = await settled(interaction);
    expect(text).toContain("not on this platform's file host (169.254.169.254)");
    expect(requestFor(interaction)).toBeUndefined();
  });

  it('follows a redirect only to the CDN, and checks every hop', async () => {
    const png = pngImage(16, 16, () => [1, 2, 3]);
    const target = h.discord.uploadAttachment(png, 'target.png', 'image/png');
    const hop = h.discord.uploadAttachment(png, 'hop.png', 'image/png', { redirectTo: target.url });
    const ok = h.slash(h.discord.users.alice, { prompt: 'a red ball', steps: 2, model: 'wan', image: hop.id });
    await settled(ok);
    expect(Buffer.from(requestFor(ok)!.image as Uint8Array).equals(png)).toBe(true);
    expect([cdnHits(hop.id), cdnHits(target.id)]).toEqual([1, 1]);
    const away = h.discord.uploadAttachment(png, 'away.png', 'image/png', { redirectTo: 'http://10.0.0.1/internal.png' });
    const refused = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: away.id });
    expect(await settled(refused)).toContain("not on this platform's file host (10.0.0.1)");
    expect(requestFor(refused)).toBeUndefined();
  });

  it('refuses a file that is not an image, by its declared type and by its bytes', async () => {
    const textFile = h.discord.uploadAttachment(Buffer.from('hello'), 'notes.txt', 'text/plain');
    const a = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: textFile.id });
    expect(await settled(a)).toContain('"notes.txt" is text/plain; attach a PNG, JPEG, WebP or GIF image');
    expect(cdnHits(textFile.id)).toBe(0);
    const renamed = h.discord.uploadAttachment(Buffer.from('not really a png at all'), 'fake.png', 'image/png');
    const b = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: renamed.id });
    expect(await settled(b)).toContain('"fake.png" is not a PNG, JPEG, WebP or GIF image');
    expect(requestFor(a)).toBeUndefined();
    expect(requestFor(b)).toBeUndefined();
  });

  it('applies the daemon’s own limits at once: sides read from the header', async () => {
    const file = h.discord.uploadAttachment(pngImage(8, 8), 'tiny.png', 'image/png');
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: file.id });
    expect(await settled(interaction)).toContain('"tiny.png" is 8×8 pixels; at least 16×16 needed');
    expect(requestFor(interaction)).toBeUndefined();
  });

  it('gives up on a CDN that does not answer in time', async () => {
    const file = h.discord.uploadAttachment(pngImage(16, 16), 'slow.png', 'image/png', { delayMs: 5000 });
    const started = Date.now();
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball', image: file.id });
    const text = await settled(interaction);
    const ms = Date.now() - started;
    console.log(`slow CDN refused after ${ms} ms`);
    expect(text).toContain('"slow.png" took too long to fetch');
    expect(ms).toBeLessThan(4500);
    expect(requestFor(interaction)).toBeUndefined();
  });
});

const buttonIds = (m: EmuMessage) => JSON.stringify(m.components).match(/animate:[a-z-]+:[^"]+/g) ?? [];

describe('Extend', () => {
  it('continues a clip from its last frame in the same thread, with the same prompt and a new seed', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball rolls', seed: 21, steps: 2, model: 'wan' });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    const clip = await h.waitForClip(threadId);
    const jobId = `discord-${interaction.id}`;
    expect(buttonIds(clip)).toEqual([`animate:reroll:${jobId}`, `animate:variations:${jobId}`, `animate:refine:${jobId}`, `animate:extend:${jobId}`]);
    const lastFrame = h.core.jobs.get(jobId)?.result?.lastFrame;
    expect(lastFrame?.length, 'the daemon sent the clip’s last frame').toBeGreaterThan(0);

    const before = recorder.sent.length;
    h.discord.clickButton(h.discord.users.bob, clip.id, `animate:extend:${jobId}`);
    const extendedClip = await h.waitForClip(threadId, (m) => m.id !== clip.id && isClipMessage(m));
    const sent = recorder.sent.slice(before).find((r) => r.prompt === 'a red ball rolls')!;
    expect(sent, 'the Extend request').toBeDefined();
    expect(Buffer.from(sent.image as Uint8Array).equals(lastFrame!)).toBe(true);
    expect(sent.imageMimeType).toBe('image/png');
    expect(sent.model).toBe('wan');
    expect(sent.seed).not.toBe(21);
    expect(extendedClip.content).toContain('**a red ball rolls**');
    console.log(`discord extend: ${lastFrame!.length}-byte last frame; seed 21 → ${sent.seed}`);
  });

  it('on a model that takes no image, the person is told Extend needs one', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a blue star spins', seed: 2, steps: 2 });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    const clip = await h.waitForClip(threadId);
    h.discord.clickButton(h.discord.users.alice, clip.id, `animate:extend:discord-${interaction.id}`);
    const refusal = await h.discord.waitFor(() => h.discord.messagesIn(threadId).find((m) => m.content.includes('Extend needs a model')), 30_000, 'the refusal');
    expect(refusal.content).toContain('"fixture" cannot (it has no image encoder)');
  });
});
