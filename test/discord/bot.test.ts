// The Discord front-end end to end: the real discord.js client running the animate plugin, talking to the local
// Discord emulator, against a real daemon (gRPC, onnxruntime, ffmpeg) with fixture models.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClip } from '../../inference/media/index.ts';
import { isClipMessage, startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import type { EmuMessage } from './emulator/index.ts';

let h: DiscordHarness;

beforeAll(async () => {
  h = await startDiscordHarness();
});
afterAll(async () => {
  await h?.close();
});

const buttonIds = (m: EmuMessage) => JSON.stringify(m.components).match(/animate:[a-z-]+:[^"]+/g) ?? [];
const mp4Of = (m: EmuMessage) => m.attachments.find((a) => a.filename.endsWith('.mp4'));

describe('/animate', () => {
  it('defers within 3 s, shows queue and progress, edits in previews, and posts the MP4 in a thread on the reply', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball bounces', seed: 42, steps: 20, frames: 5, model: 'slow' });
    const clipMessage = await h.waitForClip(await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread'));

    // Deferred (type 5) well inside Discord's 3 s.
    expect(interaction.responseType).toBe(5);
    const ackMs = (interaction.acknowledgedAt ?? Infinity) - interaction.createdAt;
    expect(ackMs).toBeLessThan(3000);

    const status = h.discord.originalMessage(interaction)!;
    await h.discord.waitFor(() => status.content.includes('✅ Done:'), 10_000, 'the reply to say done');
    const revisions = status.revisions.map((r) => r.content);
    expect(revisions.some((c) => c.includes('Prompt used: **a red ball bounces**'))).toBe(true);
    expect(revisions.some((c) => /In the queue: position \*\*\d+\*\*/.test(c) || c.includes('Sent to the animation daemon'))).toBe(true);
    expect(revisions.some((c) => /[▰▱]{16} \d+% · step \d+\/20 · denoise/.test(c))).toBe(true);
    const previewEdits = status.revisions.filter((r) => r.attachments.some((a) => /^preview-step\d+\.webp$/.test(a)));
    expect(previewEdits.length).toBeGreaterThanOrEqual(1);
    // While running, the reply carries the Cancel button; at the end it says where the clip is.
    expect(status.revisions.some((r) => r.components === 1)).toBe(true);
    expect(status.content).toContain('✅ Done:');
    expect(status.components).toHaveLength(0);

    // Edits of the reply are spaced by the plugin's interval (300 ms here), as Discord's edit budget wants.
    const edits = h.discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(`/webhooks/${h.discord.applicationId}/${interaction.token}/`));
    expect(edits.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < edits.length; i++) expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(250);

    // The clip: in the thread started on the reply, with prompt, seed and settings, an MP4 ffprobe accepts, and buttons.
    expect(clipMessage.channelId).toBe(status.id);
    expect(h.discord.world.channels.get(status.id)?.parentId).toBe(h.discord.generalChannelId);
    expect(clipMessage.content).toContain('**a red ball bounces**');
    expect(clipMessage.content).toContain('seed **42**');
    expect(clipMessage.content).toContain('20 steps');
    expect(clipMessage.content).toContain('5 frames at 8 fps');
    expect(clipMessage.content).toContain('32×32');
    const mp4 = mp4Of(clipMessage)!;
    expect(mp4.filename).toBe('a-red-ball-bounces-seed42.mp4');
    const probe = await probeClip(mp4.data);
    expect(probe).toMatchObject({ codec: 'h264', frames: 5, width: 32, height: 32 });
    const jobId = `discord-${interaction.id}`;
    // Extend too: the daemon sent the clip's last frame (Extend starts the next clip from it).
    expect(buttonIds(clipMessage)).toEqual([`animate:reroll:${jobId}`, `animate:variations:${jobId}`, `animate:refine:${jobId}`, `animate:extend:${jobId}`]);
    expect(isClipMessage(status)).toBe(false);
  });
});

const seedOf = (m: EmuMessage) => Number(/seed \*\*(\d+)\*\*/.exec(m.content)?.[1]);

/** Runs a quick /animate on the default fixture model and returns its interaction, thread id and clip message. */
async function quickClip(prompt: string, seed: number) {
  const interaction = h.slash(h.discord.users.alice, { prompt, seed, steps: 2 });
  const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
  const clip = await h.waitForClip(threadId);
  return { interaction, threadId, clip, jobId: `discord-${interaction.id}` };
}

describe('buttons', () => {
  it('Reroll makes a new clip with a new seed in the same thread', async () => {
    const { threadId, clip, jobId } = await quickClip('a red ball bounces', 5);
    const press = h.discord.clickButton(h.discord.users.bob, clip.id, `animate:reroll:${jobId}`);
    const rerolled = await h.waitForClip(threadId, (m) => m.id !== clip.id);
    expect(press.responseType).toBe(6); // deferred update: the button message stays as it is
    expect(rerolled.content).toContain('**a red ball bounces**');
    expect(seedOf(rerolled)).not.toBe(5);
    const label = h.discord.messagesIn(threadId).find((m) => m.content.includes('Reroll of "a red ball bounces"'));
    expect(label).toBeDefined();
    expect(await probeClip(mp4Of(rerolled)!.data)).toMatchObject({ codec: 'h264', frames: 5 });
  });

  it('Variations makes three clips with the neighbouring seeds', async () => {
    const { threadId, clip, jobId } = await quickClip('a green cube spins', 100);
    h.discord.clickButton(h.discord.users.alice, clip.id, `animate:variations:${jobId}`);
    await h.discord.waitFor(() => h.discord.messagesIn(threadId).filter(isClipMessage).length === 4, 60_000, 'three variations');
    const seeds = h.discord.messagesIn(threadId).filter(isClipMessage).map(seedOf).sort((a, b) => a - b);
    expect(seeds).toEqual([100, 101, 102, 103]);
    const variantLines = h.discord.messagesIn(threadId).filter(isClipMessage).map((m) => /\(variant (\d) of 3\)/.exec(m.content)?.[1]).filter(Boolean).sort();
    expect(variantLines).toEqual(['1', '2', '3']);
  });

  it('Refine opens a modal with the prompt filled in; submitting it makes a clip of the new prompt with the same seed', async () => {
    const { threadId, clip, jobId } = await quickClip('a red ball bounces', 77);
    const press = h.discord.clickButton(h.discord.users.alice, clip.id, `animate:refine:${jobId}`);
    await h.discord.waitFor(() => press.modal, 10_000, 'the modal');
    expect(press.responseType).toBe(9);
    expect(press.modal).toMatchObject({ customId: `animate:refine-modal:${jobId}`, title: 'Refine the clip', fields: { prompt: { value: 'a red ball bounces' } } });
    const submit = h.discord.submitModal(h.discord.users.alice, `animate:refine-modal:${jobId}`, { prompt: 'a blue ball bounces slowly' }, { messageId: clip.id });
    const refined = await h.waitForClip(threadId, (m) => m.content.includes('**a blue ball bounces slowly**'));
    expect(submit.responseType).toBe(6);
    expect(seedOf(refined)).toBe(77);
  });

  it('Cancel: refused for someone else, allowed for a moderator, and the reply says who cancelled', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a long slow wave', steps: 50, model: 'slow' });
    const jobId = `discord-${interaction.id}`;
    const status = await h.discord.waitFor(() => {
      const m = h.discord.originalMessage(interaction);
      return m && m.components.length > 0 ? m : undefined;
    }, 30_000, 'the Cancel button');
    const refused = h.discord.clickButton(h.discord.users.bob, status.id, `animate:cancel:${jobId}`);
    const notice = await h.discord.waitFor(
      () => h.discord.messagesIn(h.discord.generalChannelId).find((m) => m.flags === 64 && m.content.includes('can cancel this clip')),
      10_000,
      'the ephemeral refusal',
    );
    expect(refused.responseType).toBe(6);
    expect(notice.content).toBe('⚠️ Only alice or a moderator can cancel this clip.');
    h.discord.clickButton(h.discord.users.moderator, status.id, `animate:cancel:${jobId}`);
    await h.discord.waitFor(() => status.content.includes('🛑 Cancelled by moderator.'), 30_000, 'the cancel notice');
    expect(status.components).toHaveLength(0);
    expect(status.threadId).toBeNull();
    expect(h.core.jobs.get(jobId)?.state).toBe('cancelled');
  });
});

describe('where clips go', () => {
  it('variants: 2 makes two clips with neighbouring seeds in the reply\'s thread', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a yellow star', seed: 500, steps: 2, variants: 2 });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    await h.discord.waitFor(() => h.discord.messagesIn(threadId).filter(isClipMessage).length === 2, 60_000, 'two clips');
    expect(h.discord.messagesIn(threadId).filter(isClipMessage).map(seedOf).sort()).toEqual([500, 501]);
    expect(h.discord.messagesIn(threadId).some((m) => m.content.startsWith('**Variant 2 of 2**'))).toBe(true);
  });

  it('a command run inside a thread posts its clip in that thread', async () => {
    const { threadId } = await quickClip('a red ball bounces', 12);
    const before = h.discord.world.channels.size;
    const interaction = h.slash(h.discord.users.bob, { prompt: 'a purple cube', seed: 13, steps: 2 }, { channelId: threadId });
    const clip = await h.waitForClip(threadId, (m) => m.content.includes('**a purple cube**'));
    expect(seedOf(clip)).toBe(13);
    expect(h.discord.originalMessage(interaction)?.channelId).toBe(threadId);
    expect(h.discord.world.channels.size).toBe(before);
  });
});

describe('conversation', () => {
  it('a message addressed to the bot in the clip thread refines the prompt and says which prompt it used', async () => {
    const { threadId, clip } = await quickClip('a red ball bounces', 9);
    h.discord.postMessage(h.discord.users.alice, threadId, `<@${h.discord.applicationId}> make it blue`);
    const refined = await h.waitForClip(threadId, (m) => m.id !== clip.id);
    expect(refined.content).toContain('**a blue ball bounces**');
    expect(seedOf(refined)).toBe(9);
    const status = h.discord.messagesIn(threadId).find((m) => m.content.includes('Refinement "make it blue"'));
    expect(status?.content).toContain('Prompt used: **a blue ball bounces**');
    expect(status?.content).toContain('(was: a red ball bounces)');
  });

  it('a reply sent the moment the clip shows, before the bot has the answer to its post, still refines that clip', async () => {
    // The clip's message is created (and its gateway event sent) at once, but the answer to the bot's POST comes 1.5 s
    // later: the person's reply reaches the bot first, as it can on a slow link.
    h.discord.slowResponses({ method: 'POST', path: /^\/channels\/\d+\/messages$/, times: 1, delayMs: 1500 });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red ball bounces', seed: 21, steps: 2 });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    const clip = await h.waitForClip(threadId);
    h.discord.postMessage(h.discord.users.alice, threadId, `<@${h.discord.applicationId}> make it blue`);
    const refined = await h.waitForClip(threadId, (m) => m.id !== clip.id);
    expect(refined.content).toContain('**a blue ball bounces**');
    expect(seedOf(refined)).toBe(21);
    // Once the first job has ended too (its post answered late), the next follow-up builds on the refined clip.
    await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.content.includes('✅ Done') || undefined, 30_000, 'the first job done');
    h.discord.postMessage(h.discord.users.alice, threadId, `<@${h.discord.applicationId}> now at night`);
    const night = await h.waitForClip(threadId, (m) => m.id !== clip.id && m.id !== refined.id);
    expect(night.content).toContain('**a blue ball bounces at night**');
  });

  it('an empty @mention in the clip thread gets the help text, as anywhere else', async () => {
    const { threadId } = await quickClip('a red ball bounces', 12);
    const mention = h.discord.postMessage(h.discord.users.alice, threadId, `<@${h.discord.applicationId}>`);
    const reply = await h.discord.waitFor(
      () => h.discord.messagesIn(threadId).find((m) => m.id !== mention.id && m.content.startsWith('Ask me a question')),
      30_000,
      'the help text',
    );
    expect(reply.content).toContain('--steps');
  });

  it('ignores messages in the thread that do not address the bot', async () => {
    const { threadId } = await quickClip('a red ball bounces', 10);
    const before = h.discord.messagesIn(threadId).length;
    h.discord.postMessage(h.discord.users.bob, threadId, 'nice one, make it blue');
    await new Promise((r) => setTimeout(r, 800));
    expect(h.discord.messagesIn(threadId)).toHaveLength(before + 1);
  });

  it('answers an @mention question with a clip in a thread on the question', async () => {
    const question = h.discord.postMessage(h.discord.users.bob, h.discord.generalChannelId, `<@${h.discord.applicationId}> how does a ball bounce?`);
    const threadId = await h.discord.waitFor(() => h.discord.world.messages.get(question.id)?.threadId, 30_000, 'a thread on the question');
    const clip = await h.waitForClip(threadId);
    expect(clip.content).toContain('**a ball bouncing**');
    const status = h.discord.messagesIn(threadId).find((m) => m.content.includes('❓ how does a ball bounce?'));
    expect(status?.content).toContain('Prompt used: **a ball bouncing**');
  });
});

describe('refusals and help are private (ephemeral) and say what is allowed', () => {
  const EPHEMERAL = 1 << 6;
  const privateReply = async (options: Record<string, string | number>) => {
    const interaction = h.slash(h.discord.users.alice, options as Record<string, string | number>);
    const message = await h.discord.waitFor(() => {
      const m = h.discord.originalMessage(interaction);
      return m && m.content ? m : undefined;
    }, 30_000, 'a reply');
    return { interaction, message, ephemeral: (message.flags & EPHEMERAL) === EPHEMERAL };
  };

  it('options outside the model\'s limits name the option and the allowed range, privately, and start no job', async () => {
    const jobsBefore = h.core.jobs.size;
    const { interaction, message, ephemeral } = await privateReply({ prompt: 'a ball', steps: 999 });
    expect(message.content).toBe('⚠️ steps must be a whole number from 1 to 50 for model fixture (got 999).');
    expect(ephemeral).toBe(true);
    // Answered at once (callback type 4), never deferred publicly first.
    expect(interaction.responseType).toBe(4);
    expect(h.core.jobs.size).toBe(jobsBefore);
  });

  it('an aspect the model does not list is refused privately, naming the ones it does', async () => {
    const { message, ephemeral } = await privateReply({ prompt: 'a ball', aspect: '2:1' });
    expect(message.content).toBe('⚠️ aspect must be one of 1:1, 16:9, 9:16, 4:3, 3:4 for model fixture (got 2:1).');
    expect(ephemeral).toBe(true);
  });

  it('the content filter refuses privately, before any public reply (test/discord/private-refusals.test.ts: the daemon\'s)', async () => {
    const { interaction, message, ephemeral } = await privateReply({ prompt: 'lots of gore' });
    expect(message.content).toMatch(/^⚠️ .*gore/);
    expect(ephemeral).toBe(true);
    expect(interaction.responseType).toBe(4);
  });

  it('an unknown model lists the known ones, privately', async () => {
    const { message, ephemeral } = await privateReply({ prompt: 'a ball', model: 'nope' });
    expect(message.content).toBe('⚠️ There is no model "nope". Models: fixture, slow.');
    expect(ephemeral).toBe(true);
  });

  it('"help" as the prompt answers privately with the options, the model\'s aspects and ranges', async () => {
    const { interaction, message, ephemeral } = await privateReply({ prompt: 'help' });
    expect(ephemeral).toBe(true);
    expect(interaction.responseType).toBe(5);
    const text = message.content;
    console.log(text);
    expect(text).toContain('Options (model fixture):');
    expect(text).toContain('--steps     1–50: ');
    expect(text).toContain('--aspect    1:1, 16:9, 9:16, 4:3, 3:4: frame shape');
    expect(text).toContain('e.g. /animate a red ball bounces on the grass --seed 42 --steps 4 --aspect 16:9 --variants 2');
  });
});
