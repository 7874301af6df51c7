// Discord's limits against the real discord.js client, the emulator and a real daemon: interaction tokens that
// expire (injected clock) or are refused, uploads over the limit, 429s, missing permissions. Each ends in a message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClip } from '../../inference/media/index.ts';
import { megabytes } from '../../bots/core/format.ts';
import { collect, clipBytes } from '../helpers/fixture-daemon.ts';
import { isClipMessage, startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import { PermissionFlagsBits, type EmuInteraction, type EmuMessage } from './emulator/index.ts';

let h: DiscordHarness;
const linked = new Map<string, Buffer>();

beforeAll(async () => {
  h = await startDiscordHarness({
    plugin: {
      // Stands in for a file host (the edge): keeps the bytes and answers with where they would be.
      linker: async (clip) => {
        linked.set(clip.fileName, clip.data);
        return `https://clips.example/${clip.fileName}`;
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const webhookPath = (i: EmuInteraction) => `/webhooks/${h.discord.applicationId}/${i.token}/`;
const statusOf = (i: EmuInteraction) => h.discord.waitFor(() => h.discord.originalMessage(i), 30_000, 'the reply');
const threadOf = (i: EmuInteraction) => h.discord.waitFor(() => h.discord.originalMessage(i)?.threadId, 60_000, 'the thread');
const clipFile = (m: EmuMessage) => m.attachments.find((a) => !a.filename.startsWith('preview'))!;

describe('interaction tokens', () => {
  it('after 15 minutes (injected clock) the job carries on with bot-token edits and still delivers', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a slow red ball', seed: 3, steps: 40, model: 'slow' });
    const status = await statusOf(interaction);
    await h.discord.waitFor(() => /step \d+\/40/.test(status.content), 30_000, 'progress through the webhook');
    const firstAfterJump = h.discord.requests.length;
    h.clock.offsetMs += 15 * 60_000;

    const threadId = await threadOf(interaction);
    const clip = await h.waitForClip(threadId);
    await h.discord.waitFor(() => status.content.includes('✅ Done:'), 10_000, 'the done edit');
    const after = h.discord.requests.slice(firstAfterJump);
    // No call with the dead token after the jump: the plugin switched before Discord had to refuse it.
    expect(after.filter((r) => r.path.startsWith(webhookPath(interaction)))).toEqual([]);
    const botEdits = after.filter((r) => r.method === 'PATCH' && r.path === `/channels/${h.discord.generalChannelId}/messages/${status.id}`);
    expect(botEdits.length).toBeGreaterThanOrEqual(1);
    expect(botEdits.every((r) => r.authorized && r.status === 200)).toBe(true);
    expect(clip.content).toContain('seed **3**');
    expect((await probeClip(clipFile(clip).data)).codec).toBe('h264');
    h.clock.offsetMs = 0;
  });

  it('when Discord refuses the token early (401, 50027), the next edit goes through the bot token', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a slow blue ball', seed: 4, steps: 40, model: 'slow' });
    const status = await statusOf(interaction);
    await h.discord.waitFor(() => /step \d+\/40/.test(status.content), 30_000, 'progress through the webhook');
    h.discord.revokeToken(interaction);
    const threadId = await threadOf(interaction);
    await h.waitForClip(threadId);
    await h.discord.waitFor(() => status.content.includes('✅ Done:'), 10_000, 'the done edit');
    const refused = h.discord.requests.filter((r) => r.path.startsWith(webhookPath(interaction)) && r.status === 401);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.errorCode).toBe(50027);
    const botEdits = h.discord.requests.filter((r) => r.method === 'PATCH' && r.path === `/channels/${h.discord.generalChannelId}/messages/${status.id}` && r.at >= refused[0]!.at);
    expect(botEdits.length).toBeGreaterThanOrEqual(1);
  });
});

describe('rate limits', () => {
  it('honours 429 retry_after on reply edits and on the clip post, and the clip still arrives', async () => {
    h.discord.rateLimit({ method: 'PATCH', path: /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/, times: 1, retryAfterSeconds: 1 });
    h.discord.rateLimit({ method: 'POST', path: /^\/channels\/\d+\/messages$/, times: 1, retryAfterSeconds: 0.5 });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a rate limited cube', seed: 11, steps: 3 });
    const threadId = await threadOf(interaction);
    const clip = await h.waitForClip(threadId);
    const edits = h.discord.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith(webhookPath(interaction)));
    const limited = edits.findIndex((r) => r.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    const retry = edits[limited + 1]!;
    expect(retry.status).toBe(200);
    expect(retry.at - edits[limited]!.at).toBeGreaterThanOrEqual(1000);
    const posts = h.discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${threadId}/messages`);
    expect(posts.map((r) => r.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(500);
    expect(clip.content).toContain('seed **11**');
  });
});

describe('uploads over the limit', () => {
  const options = { prompt: 'a big red ball bounces', seed: 21, steps: 2, frames: 33 } as const;
  let madeBytes = 0;

  beforeAll(async () => {
    // The clip as the daemon makes it, to set limits just under it.
    const events = await collect(h.fx.client.generate({ prompt: options.prompt, seed: options.seed, steps: options.steps, frames: options.frames }));
    madeBytes = clipBytes(events).length;
  });

  it('a clip over the interaction\'s attachment_size_limit is re-encoded to fit by the daemon, with a note, and ffprobe accepts it', async () => {
    const limit = Math.floor(madeBytes * 0.7);
    h.discord.setUploadLimit(limit);
    try {
      const interaction = h.slash(h.discord.users.alice, options, { attachmentSizeLimit: limit });
      const clip = await h.waitForClip(await threadOf(interaction));
      const file = clipFile(clip);
      expect(file.size).toBeLessThanOrEqual(limit);
      // The note quotes the size the daemon made first and the limit it fitted to.
      expect(clip.content).toContain(`The clip (${megabytes(madeBytes)}) is over this server's upload limit of ${megabytes(limit)}, so it was re-encoded`);
      const probe = await probeClip(file.data);
      expect(probe.frames).toBe(33);
      expect(h.discord.requests.filter((r) => r.status === 413)).toEqual([]);
    } finally {
      h.discord.setUploadLimit(10 * 1024 * 1024);
    }
  });

  it('the daemon fits the clip to max_clip_bytes from its frames and says how in ClipChunk.fit', async () => {
    const limit = Math.floor(madeBytes * 0.7);
    const events = await collect(h.fx.client.generate({ prompt: options.prompt, seed: options.seed, steps: options.steps, frames: options.frames, maxClipBytes: limit }));
    const bytes = clipBytes(events);
    expect(bytes.length).toBeLessThanOrEqual(limit);
    const fit = events.find((e) => e.clip)?.clip?.fit;
    expect(fit).toMatchObject({ limitBytes: limit, originalBytes: madeBytes, overLimit: false });
    expect(fit!.qualityStep > 0 || fit!.downscale > 1).toBe(true);
    expect((await probeClip(bytes)).frames).toBe(33);
  });

  it('when Discord answers 413 although the interaction reported a larger limit, the clip is linked, never dropped, and the person is told', async () => {
    // The daemon fitted the clip to the reported 10 MiB; Discord's real limit is lower. The bot cannot re-encode
    // (only the daemon holds the frames), so the clip goes to the linker, with a note saying Discord refused it.
    const limit = Math.floor(madeBytes * 0.75);
    h.discord.setUploadLimit(limit);
    try {
      const interaction = h.slash(h.discord.users.alice, options, { attachmentSizeLimit: 10 * 1024 * 1024 });
      const threadId = await threadOf(interaction).catch((e: unknown) => {
        throw new Error(`${String(e)}; reply: ${h.discord.originalMessage(interaction)?.content}`);
      });
      const message = await h.discord.waitFor(() => h.discord.messagesIn(threadId).find((m) => m.content.includes('🔗 https://clips.example/')), 60_000, 'the link');
      const refused = h.discord.requests.filter((r) => r.status === 413 && r.errorCode === 40005);
      expect(refused).toHaveLength(1);
      expect(message.content).toContain(`Discord refused the clip (${megabytes(madeBytes)}) as over this server's upload limit, so here is a link.`);
      expect(message.attachments).toHaveLength(0);
      const bytes = linked.get('a-big-red-ball-bounces-seed21.mp4');
      expect(bytes?.length).toBe(madeBytes);
      expect(bytes && (await probeClip(bytes)).frames).toBe(33);
    } finally {
      h.discord.setUploadLimit(10 * 1024 * 1024);
    }
  });
});

describe('clips that fit nowhere', () => {
  it('are linked (never dropped) when no encoding fits, and previews over the limit are skipped with a note', async () => {
    const limit = 300;
    h.discord.setUploadLimit(limit);
    try {
      const interaction = h.slash(h.discord.users.alice, { prompt: 'a tiny limit', seed: 41, steps: 2, frames: 33 }, { attachmentSizeLimit: limit });
      const threadId = await threadOf(interaction);
      const message = await h.discord.waitFor(() => h.discord.messagesIn(threadId).find((m) => m.content.includes('🔗 https://clips.example/')), 60_000, 'the link');
      expect(message.content).toContain('even re-encoded, so here is a link');
      expect(message.attachments).toHaveLength(0);
      const bytes = linked.get('a-tiny-limit-seed41.mp4');
      expect(bytes && (await probeClip(bytes)).frames).toBe(33);
      const status = await statusOf(interaction);
      expect(status.revisions.some((r) => /preview of step \d+ skipped: .* is over the upload limit/.test(r.content))).toBe(true);
    } finally {
      h.discord.setUploadLimit(10 * 1024 * 1024);
    }
  });
});

describe('missing permissions', () => {
  it('without Attach Files the reply says which permission is missing', async () => {
    h.discord.denyBotPermissions(PermissionFlagsBits.AttachFiles);
    try {
      const interaction = h.slash(h.discord.users.alice, { prompt: 'a ball', steps: 1 });
      const text = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.content.match(/^⚠️.*/)?.[0], 30_000, 'a message');
      expect(text).toContain('**Attach Files** permission');
    } finally {
      h.discord.grantBotPermissions(PermissionFlagsBits.AttachFiles);
    }
  });

  it('without Create Public Threads the clip is posted in the channel, saying why', async () => {
    h.discord.denyBotPermissions(PermissionFlagsBits.CreatePublicThreads, h.discord.generalChannelId);
    try {
      const interaction = h.slash(h.discord.users.alice, { prompt: 'a thread-less ball', seed: 31, steps: 1 });
      const clip = await h.waitForClip(h.discord.generalChannelId, (m) => m.content.includes('seed **31**'));
      expect(clip.content).toContain('missing **Create Public Threads**');
      expect(h.discord.originalMessage(interaction)?.threadId).toBeNull();
    } finally {
      h.discord.grantBotPermissions(PermissionFlagsBits.CreatePublicThreads, h.discord.generalChannelId);
    }
  });

  it('without Send Messages in Threads the clip goes into the reply itself, saying why', async () => {
    h.discord.denyBotPermissions(PermissionFlagsBits.SendMessagesInThreads, h.discord.generalChannelId);
    try {
      const interaction = h.slash(h.discord.users.alice, { prompt: 'a quiet ball', seed: 32, steps: 1 });
      const status = await statusOf(interaction);
      await h.discord.waitFor(() => isClipMessage(status), 60_000, 'the clip in the reply');
      expect(status.content).toContain('missing **Send Messages in Threads**');
      expect(status.content).toContain('seed **32**');
      expect((await probeClip(clipFile(status).data)).codec).toBe('h264');
      expect(h.discord.requests.some((r) => r.status === 403 && r.errorCode === 50013)).toBe(true);
    } finally {
      h.discord.grantBotPermissions(PermissionFlagsBits.SendMessagesInThreads, h.discord.generalChannelId);
    }
  });
});
