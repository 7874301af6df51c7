// The Discord front-end end to end: the real discord.js client running the animate plugin, talking to the local
// Discord emulator, against a real daemon (gRPC, onnxruntime, ffmpeg) with fixture models.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClip } from '../inference/media/index.ts';
import { isClipMessage, startDiscordHarness, type DiscordHarness } from './emulators/discord/harness.ts';
import type { EmuMessage } from './emulators/discord/index.ts';

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
    expect(buttonIds(clipMessage)).toEqual([`animate:reroll:${jobId}`, `animate:variations:${jobId}`, `animate:refine:${jobId}`]);
    expect(isClipMessage(status)).toBe(false);
  });
});
