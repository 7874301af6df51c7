// The Slack front-end end to end: Bolt's real HTTP receiver on loopback gets requests signed like Slack's,
// the real Web API client inside Bolt talks to the emulator (which records everything), and the bot core drives
// a real daemon with a fixture model (real onnxruntime, real ffmpeg). Nothing in between is mocked.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { probeClip } from '../../inference/media/index.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { buttonsOf, clipsInThread, parentMessage, startSlackHarness, statusMessages, type SlackHarness } from './emulator/harness.ts';

const CH = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
/**
 * Milliseconds of the app's own synchronous work between the throttle taking a slot and the edit's fetch, plus the
 * clock's 1 ms rounding (see the interval check): no I/O or timer lies between them, so a few ms cover it.
 */
const SEND_SLACK_MS = 5;
const ADMIN = 'U0ADMIN';

let fx: FixtureDaemon;
let h: SlackHarness;
let slowDir: string;

beforeAll(async () => {
  // A second package whose denoiser burns time, so that progress, previews and buttons have a running job to show.
  slowDir = await mkdtemp(path.join(os.tmpdir(), 'animate-slack-slow-'));
  await buildFixturePackage(path.join(slowDir, 'slow'), { name: 'slow', burnMs: 80 });
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
    // Progress edits respect the update interval (300 ms here), timed when the app sent each one (the harness's fetch):
    // arrival at the emulator, which shares this process's busy event loop, once measured 192 ms on a loaded machine.
    // The throttle times a slot before the surface's synchronous work up to fetch: SEND_SLACK_MS covers that work.
    const updates = h.sent.filter((c) => c.method === 'chat.update' && c.params.get('ts') === status!.ts).map((c) => c.at);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(h.emulator.callsOf('chat.update').filter((c) => c.params.ts === status!.ts)).toHaveLength(updates.length);
    // What the throttle guarantees at the wire: slot k+1 starts at least 300 ms after slot k and only once slot k's call
    // has ended, so slot k+2's send comes at least 300 ms after slot k's. Two consecutive sends can be closer (a
    // preview slot uploads its file before its chat.update), so each send is compared with the one two before it.
    const gaps = updates.slice(1).map((t, i) => t - updates[i]!);
    const spans = updates.slice(2).map((t, i) => t - updates[i]!);
    console.log(`chat.update of the status message: ${updates.length} sends, gaps ${gaps.join(', ')} ms, two apart ${spans.join(', ')} ms (interval 300 ms)`);
    for (const span of spans) expect(span).toBeGreaterThanOrEqual(300 - SEND_SLACK_MS);
    const final = buttonsOf(status!);
    // Extend too: the daemon sent the clip's last frame (Extend starts the next clip from it).
    expect(Object.keys(final).sort()).toEqual(['animate_extend', 'animate_refine', 'animate_reroll', 'animate_variations']);

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
    // The aspects are the model's list (ListModels), not a list of the bot's.
    const fixture = (await h.core.models())!.models.find((m) => m.name === 'fixture')!;
    expect(String(post.body.text)).toContain(`--aspect    ${fixture.limits!.aspects.join(', ')}: frame shape`);
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

/** Waits until `count` clips are in a thread; returns them. */
async function clipsAtLeast(threadTs: string, count: number, what: string) {
  return h.emulator.waitFor(() => {
    const clips = clipsInThread(h.emulator, CH, threadTs);
    return clips.length >= count ? clips : undefined;
  }, 60_000, what);
}

describe('buttons, refinement and Q&A', () => {
  it('Reroll, Variations and Refine (a modal with the prompt filled in) make new clips in the same thread', async () => {
    const { parent } = await animateToClip('a green cube spins --seed 7', 'a green cube spins');
    const [status] = statusMessages(h.emulator, CH, parent.ts);
    const jobId = buttonsOf(status!).animate_reroll!;
    expect(jobId).toBeTruthy();
    const press = (actionId: string, user = BOB) => h.sender.blockAction({ actionId, value: jobId, user, channel: CH, messageTs: status!.ts, threadTs: parent.ts });

    const reroll = await press('animate_reroll');
    expect(reroll.status).toBe(200);
    expect(reroll.ackMs).toBeLessThan(3000);
    const afterReroll = await clipsAtLeast(parent.ts, 2, 'rerolled clip');
    expect(afterReroll[1]!.message.text).toContain('a green cube spins');
    expect(afterReroll[1]!.message.text).not.toContain('seed 7 ');
    expect(statusMessages(h.emulator, CH, parent.ts)[1]!.history[0]!.text).toContain('Reroll of');

    await press('animate_variations');
    const afterVariations = await clipsAtLeast(parent.ts, 5, 'three variations');
    const seeds = afterVariations.slice(2).map((c) => /seed (\d+)/.exec(c.message.text)?.[1]);
    expect(seeds.sort()).toEqual(['10', '8', '9']); // neighbouring seeds after the original's 7 (in any order)

    const refine = await press('animate_refine', ALICE);
    const opened = await h.emulator.waitFor(() => h.emulator.state.views.find((v) => v.triggerId === refine.triggerId), 10_000, 'refine modal');
    const input = (opened.view.blocks as { element?: { initial_value?: string } }[])[0]!.element!;
    expect(input.initial_value).toBe('a green cube spins');
    const submitted = await h.sender.viewSubmission({
      user: ALICE,
      callbackId: String(opened.view.callback_id),
      privateMetadata: String(opened.view.private_metadata),
      values: { refine_prompt: { prompt: 'a green cube spins at night' } },
    });
    expect(submitted.status).toBe(200);
    const afterRefine = await clipsAtLeast(parent.ts, 6, 'refined clip');
    expect(afterRefine[5]!.message.text).toContain('a green cube spins at night');
    expect(afterRefine[5]!.message.text).toContain('seed 7'); // refine keeps the seed
    await h.bot.plugin.idle();
  });

  it('Cancel: refused for someone else, allowed for a workspace admin, and the thread says who cancelled', async () => {
    await h.sender.slashCommand({ text: 'a slow turtle walks --model slow --steps 50', user: ALICE, channel: CH });
    const parent = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a slow turtle walks'), 30_000, 'turtle parent');
    const status = await h.emulator.waitFor(() => {
      const s = statusMessages(h.emulator, CH, parent.ts)[0];
      return s && s.history.some((v) => /step \d+\/50/.test(v.text)) ? s : undefined;
    }, 30_000, 'turtle progress');
    const jobId = buttonsOf(status).animate_cancel!;
    const press = (user: string) => h.sender.blockAction({ actionId: 'animate_cancel', value: jobId, user, channel: CH, messageTs: status.ts, threadTs: parent.ts });

    await press(BOB);
    const refusal = await h.emulator.waitFor(() => h.emulator.state.ephemerals.find((e) => e.user === BOB && /cancel/i.test(e.text)), 10_000, 'refusal');
    expect(refusal.text).toMatch(/Only .* or a moderator can cancel/);
    expect(refusal.threadTs).toBe(parent.ts);

    await press(ADMIN);
    await h.emulator.waitFor(() => /Cancelled by/.test(status.text), 30_000, 'cancelled status');
    expect(status.text).toContain('Cancelled by');
    await h.bot.plugin.idle();
    expect(clipsInThread(h.emulator, CH, parent.ts)).toHaveLength(0);
    expect(parent.text).toMatch(/^:no_entry_sign:/);
  });

  it('a reply that mentions the app in a clip thread refines the prompt and says which prompt it used', async () => {
    const { parent } = await animateToClip('a yellow ball bounces --seed 3', 'a yellow ball bounces');
    const reply = h.sender.userMessage(CH, ALICE, `<@${h.emulator.botUserId}> now at night`, parent.ts);
    const sent = await h.sender.event({ event: { type: 'app_mention', user: ALICE, text: `<@${h.emulator.botUserId}> now at night`, channel: CH, ts: reply.ts, thread_ts: parent.ts } });
    expect(sent.status).toBe(200);
    const clips = await clipsAtLeast(parent.ts, 2, 'refined clip');
    expect(clips[1]!.message.text).toContain('a yellow ball bounces at night');
    expect(clips[1]!.message.text).toContain('seed 3');
    const refinedStatus = statusMessages(h.emulator, CH, parent.ts)[1]!;
    expect(refinedStatus.history[0]!.text).toMatch(/Refining with “now at night”: using the prompt \*a yellow ball bounces at night\*/);
    await h.bot.plugin.idle();
  });

  it('a question that mentions the app gets a threaded clip; Slack retries of that event start nothing more', async () => {
    const question = `<@${h.emulator.botUserId}> how does a ball bounce?`;
    const mention = h.sender.userMessage(CH, BOB, question);
    const event = { type: 'app_mention', user: BOB, text: question, channel: CH, ts: mention.ts };
    const first = await h.sender.event({ event, eventId: 'Ev0RETRIED1' });
    const retry1 = await h.sender.event({ event, eventId: 'Ev0RETRIED1' }, { retryNum: 1 });
    const retry2 = await h.sender.event({ event, eventId: 'Ev0RETRIED1' }, { retryNum: 2 });
    for (const r of [first, retry1, retry2]) {
      expect(r.status).toBe(200);
      expect(r.ackMs).toBeLessThan(3000);
    }
    const [clip] = await clipsAtLeast(mention.ts, 1, 'Q&A clip');
    await h.bot.plugin.idle();
    expect(clip!.message.text).toContain('a ball bouncing');
    expect(clipsInThread(h.emulator, CH, mention.ts)).toHaveLength(1);
    const statuses = statusMessages(h.emulator, CH, mention.ts);
    expect(statuses).toHaveLength(1);
    expect(statuses[0]!.history[0]!.text).toContain('Answering “how does a ball bounce?”');
  });
});

describe('Slack limits and refusals', () => {
  it('honours 429 Retry-After from chat.postMessage and still delivers', async () => {
    h.emulator.rateLimit('chat.postMessage', 1, 1);
    const mark = h.emulator.calls.length;
    const { clip } = await animateToClip('a purple kite flies', 'a purple kite flies');
    const posts = h.emulator.calls.slice(mark).filter((c) => c.method === 'chat.postMessage');
    expect(posts[0]!.status).toBe(429);
    expect(posts[1]!.status).toBe(200);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(990);
    expect((await probeClip(clip.file.bytes!)).codec).toBe('h264');
  });

  it('tells the person privately when the app is not in the channel, and stops the job', async () => {
    const uploads = h.emulator.uploads.length;
    const sent = await h.sender.slashCommand({ text: 'a boat sails', user: ALICE, channel: 'C0OUTSIDE' });
    const post = await h.emulator.waitFor(() => h.emulator.responseUrlPosts.find((p) => p.id === `cmd-${sent.triggerId}`), 30_000, 'not-in-channel reply');
    expect(String(post.body.text)).toMatch(/not a member of this channel.*\/invite/);
    await h.bot.plugin.idle();
    expect(h.emulator.uploads.length).toBe(uploads);
    const job = [...h.core.jobs.active()].find((j) => j.options.prompt === 'a boat sails');
    expect(job).toBeUndefined();
  });

  it('says which scope is missing when Slack refuses the upload', async () => {
    h.emulator.scopes.delete('files:write');
    try {
      await h.sender.slashCommand({ text: 'a paper plane glides', user: ALICE, channel: CH });
      const parent = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a paper plane glides'), 30_000, 'plane parent');
      const status = await h.emulator.waitFor(() => {
        const s = statusMessages(h.emulator, CH, parent.ts)[0];
        return s && /:warning:/.test(s.text) ? s : undefined;
      }, 60_000, 'scope failure');
      expect(status.text).toContain('"files:write" permission');
      expect(status.text).toContain('bots/slack/manifest.yaml');
      await h.bot.plugin.idle();
    } finally {
      h.emulator.scopes.add('files:write');
    }
  });

  it('explains a clip over the workspace upload limit in the thread', async () => {
    h.emulator.maxFileBytes = 300;
    try {
      await h.sender.slashCommand({ text: 'a big wave crashes --frames 33', user: ALICE, channel: CH });
      const parent = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a big wave crashes'), 30_000, 'wave parent');
      const status = await h.emulator.waitFor(() => {
        const s = statusMessages(h.emulator, CH, parent.ts)[0];
        return s && /:warning:/.test(s.text) ? s : undefined;
      }, 60_000, 'size failure');
      expect(status.text).toMatch(/The clip is [\d.]+ [MK]iB, over this workspace's upload limit/);
      expect(status.text).toContain('--frames');
      await h.bot.plugin.idle();
    } finally {
      h.emulator.maxFileBytes = 1024 * 1024 * 1024;
    }
  });

  it('replyWithClip lets other code in the app answer with a clip in a thread', async () => {
    const root = h.sender.userMessage(CH, BOB, 'what would a red balloon look like?');
    const outcomes = await h.bot.plugin.replyWithClip({ channel: CH, threadTs: root.ts, userId: BOB, question: 'what would a red balloon look like?', requestId: 'plugin-test-1' });
    expect(outcomes.map((o) => o.status)).toEqual(['delivered']);
    const [clip] = clipsInThread(h.emulator, CH, root.ts);
    expect(clip!.message.text).toContain('a red balloon');
  });
});
