// The Slack front-end end to end: Bolt's real HTTP receiver on loopback gets requests signed like Slack's,
// the real Web API client inside Bolt talks to the emulator (which records everything), and the bot core drives
// a real daemon with a fixture model (real onnxruntime, real ffmpeg). Nothing in between is mocked.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePackage } from './fixtures/fixture-model.ts';
import { probeClip } from '../inference/media/index.ts';
import { startFixtureDaemon, type FixtureDaemon } from './helpers/fixture-daemon.ts';
import { buttonsOf, clipsInThread, parentMessage, startSlackHarness, statusMessages, type SlackHarness } from './emulators/slack/harness.ts';

const CH = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const ADMIN = 'U0ADMIN';

let fx: FixtureDaemon;
let h: SlackHarness;
let slowDir: string;

beforeAll(async () => {
  // A second package whose denoiser burns time, so that progress, previews and buttons have a running job to show.
  slowDir = await mkdtemp(path.join(os.tmpdir(), 'animate-slack-slow-'));
  await buildFixturePackage(path.join(slowDir, 'slow'), { name: 'slow', burnMatmuls: 24 });
  fx = await startFixtureDaemon({ daemon: { concurrency: 2, modelDirs: [path.join(slowDir, 'slow')] } });
  h = await startSlackHarness({ connection: fx.client });
});
afterAll(async () => {
  await h?.close();
  await fx?.close();
  await rm(slowDir, { recursive: true, force: true });
});

/** Runs /animate and waits for the clip in its thread. */
async function animateToClip(text: string, promptFragment: string, user = ALICE) {
  const sent = await h.sender.slashCommand({ text, user, channel: CH });
  const parent = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, promptFragment), 30_000, `parent for "${promptFragment}"`);
  const [clip] = await h.emulator.waitFor(() => {
    const clips = clipsInThread(h.emulator, CH, parent.ts);
    return clips.length > 0 ? clips : undefined;
  }, 60_000, `clip for "${promptFragment}"`);
  await h.bot.plugin.idle();
  return { sent, parent, clip: clip! };
}

describe('/animate over HTTP', () => {
  it('acks within 3 s, works in a thread with progress updates, and uploads an MP4 into it with the settings', async () => {
    const { sent, parent, clip } = await animateToClip('a red ball bounces --seed 42 --steps 12 --frames 9 --model slow', 'a red ball bounces');
    expect(sent.status).toBe(200);
    expect(sent.ackMs).toBeLessThan(3000);

    // The parent names the requester and the prompt; the work is in its thread.
    expect(parent.text).toContain(`<@${ALICE}>`);
    expect(parent.history.at(-1)!.text).toMatch(/^:white_check_mark:/);
    const [status] = statusMessages(h.emulator, CH, parent.ts);
    expect(status).toBeDefined();
    const versions = status!.history.map((v) => v.text);
    expect(versions.some((t) => /step \d+\/12/.test(t))).toBe(true);
    expect(versions.at(-1)).toMatch(/^:white_check_mark: Done/);
    // Progress edits respect the update interval (300 ms here) and Slack's tier: never two at once.
    const updates = h.emulator.callsOf('chat.update').filter((c) => c.params.ts === status!.ts).map((c) => c.at);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < updates.length; i++) expect(updates[i]! - updates[i - 1]!).toBeGreaterThanOrEqual(250);
    const final = buttonsOf(status!);
    expect(Object.keys(final).sort()).toEqual(['animate_refine', 'animate_reroll', 'animate_variations']);

    // The three-step upload, into the right thread, with the clip's bytes; ffprobe accepts them.
    const complete = h.emulator.callsOf('files.completeUploadExternal').find((c) => (c.params.files as { id: string }[])[0]!.id === clip.file.id)!;
    expect(complete.params).toMatchObject({ channel_id: CH, thread_ts: parent.ts });
    const getUrl = h.emulator.callsOf('files.getUploadURLExternal').find((c) => c.params.filename === clip.file.filename)!;
    expect(Number(getUrl.params.length)).toBe(clip.file.bytes!.length);
    expect(getUrl.at).toBeLessThanOrEqual(clip.file.uploadedAt!);
    expect(clip.file.uploadedAt!).toBeLessThanOrEqual(complete.at);
    expect(clip.file.filename).toBe('a-red-ball-bounces-seed42.mp4');
    const probe = await probeClip(clip.file.bytes!);
    expect(probe.codec).toBe('h264');
    expect(probe.frames).toBe(9);
    expect(probe.width).toBe(32);
    const comment = clip.message.text;
    expect(comment).toContain('a red ball bounces');
    expect(comment).toContain('seed 42');
    expect(comment).toContain('12 steps');
    expect(comment).toContain('9 frames @ 8 fps');

    // Previews went into the thread and replaced each other: all but none are left once the clip is there.
    const previewUploads = h.emulator.callsOf('files.getUploadURLExternal').filter((c) => String(c.params.filename).startsWith('preview-step-'));
    expect(previewUploads.length).toBeGreaterThanOrEqual(1);
    const previewFiles = [...h.emulator.state.files.values()].filter((f) => f.filename.startsWith('preview-step-') && f.threadTs === parent.ts);
    expect(previewFiles.length).toBe(previewUploads.length);
    expect(previewFiles.every((f) => f.deleted)).toBe(true);
  });

  it('answers /animate help privately with the options and the model ranges', async () => {
    const before = h.emulator.state.messages.length;
    const sent = await h.sender.slashCommand({ text: 'help', user: ALICE, channel: CH });
    expect(sent.status).toBe(200);
    const post = await h.emulator.waitFor(() => h.emulator.responseUrlPosts.find((p) => p.id === `cmd-${sent.triggerId}`), 10_000, 'help reply');
    expect(post.body.response_type).toBe('ephemeral');
    expect(String(post.body.text)).toContain('--seed');
    expect(String(post.body.text)).toContain('--steps');
    expect(String(post.body.text)).toMatch(/1–50/); // the fixture's step range, from ListModels
    expect(h.emulator.state.messages.length).toBe(before);
  });

  it('refuses invalid options with a message naming the option, and starts nothing', async () => {
    const before = h.emulator.state.messages.length;
    const sent = await h.sender.slashCommand({ text: 'a cat --steps lots', user: ALICE, channel: CH });
    expect(sent.status).toBe(200);
    const post = await h.emulator.waitFor(() => h.emulator.responseUrlPosts.find((p) => p.id === `cmd-${sent.triggerId}`), 10_000, 'error reply');
    expect(String(post.body.text)).toMatch(/steps must be a whole number/);
    expect(h.emulator.state.messages.length).toBe(before);

    const tooMany = await h.sender.slashCommand({ text: 'a cat --steps 500', user: ALICE, channel: CH });
    const post2 = await h.emulator.waitFor(() => h.emulator.responseUrlPosts.find((p) => p.id === `cmd-${tooMany.triggerId}`), 10_000, 'range reply');
    expect(String(post2.body.text)).toMatch(/steps must be a whole number from 1 to 50/);
  });

  it('refuses a prompt the content filter blocks, privately', async () => {
    const sent = await h.sender.slashCommand({ text: 'a nude statue', user: ALICE, channel: CH });
    const post = await h.emulator.waitFor(() => h.emulator.responseUrlPosts.find((p) => p.id === `cmd-${sent.triggerId}`), 10_000, 'filter reply');
    expect(String(post.body.text)).toMatch(/:warning:/);
    expect(parentMessage(h.emulator, CH, 'nude')).toBeUndefined();
  });

  it('refuses badly signed and stale requests (401) and starts nothing', async () => {
    const before = h.emulator.state.messages.length;
    const forged = await h.sender.slashCommand({ text: 'a forged request', user: ALICE, channel: CH }, { signWith: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const stale = await h.sender.slashCommand({ text: 'a stale request', user: ALICE, channel: CH }, { timestampSec: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.emulator.state.messages.length).toBe(before);
    expect(h.emulator.responseUrlPosts.some((p) => p.id === `cmd-${forged.triggerId}` || p.id === `cmd-${stale.triggerId}`)).toBe(false);
  });
});
