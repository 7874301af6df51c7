// The daemon's refusals and disappearance, as Discord users see them: each ends in a message in the channel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import type { EmuInteraction } from './emulator/index.ts';

let h: DiscordHarness;

beforeAll(async () => {
  // One job at a time and one waiting: the third request finds the queue full.
  h = await startDiscordHarness({ daemon: { concurrency: 1, maxQueue: 1 }, slowBurnMs: 120 });
});
afterAll(async () => {
  await h?.close();
});

const contentOf = (i: EmuInteraction) => h.discord.originalMessage(i)?.content ?? '';
const waitForText = (i: EmuInteraction, pattern: RegExp, what: string) =>
  h.discord.waitFor(() => pattern.exec(contentOf(i))?.[0], 60_000, what);

describe('daemon refusals and failures', () => {
  it('a full queue answers with when to try again', async () => {
    const running = h.slash(h.discord.users.alice, { prompt: 'a long slow wave', steps: 50, model: 'slow' });
    await waitForText(running, /step \d+\/50/, 'the first job running');
    const waiting = h.slash(h.discord.users.bob, { prompt: 'a second wave', steps: 50, model: 'slow' });
    await waitForText(waiting, /In the queue: position \*\*1\*\*/, 'the second job queued');
    const refused = h.slash(h.discord.users.moderator, { prompt: 'a third wave', steps: 2 });
    const text = await waitForText(refused, /^⚠️.*$/m, 'the refusal');
    expect(text).toMatch(/^⚠️ The generation queue is full right now\. Try again in .+\.$/);
    expect(h.discord.originalMessage(refused)?.components).toHaveLength(0);
    // Clean up: the requester cancels both, with the Cancel buttons.
    for (const i of [running, waiting]) h.discord.clickButton(h.discord.users.moderator, h.discord.originalMessage(i)!.id, `animate:cancel:discord-${i.id}`);
    await waitForText(running, /Cancelled by moderator/, 'the first cancelled');
    await waitForText(waiting, /Cancelled by moderator/, 'the second cancelled');
  });

  it('the daemon going away mid-job ends the job with a message, and later requests say the daemon is unreachable', async () => {
    const job = h.slash(h.discord.users.alice, { prompt: 'an interrupted wave', steps: 50, model: 'slow' });
    await waitForText(job, /step \d+\/50/, 'the job running');
    await h.fx.daemon.close({ graceMs: 0 });
    const text = await waitForText(job, /^⚠️.*$/m, 'the failure message');
    expect(text).toMatch(/daemon/);
    expect(h.discord.originalMessage(job)?.components).toHaveLength(0);
    expect(h.discord.originalMessage(job)?.threadId).toBeNull();

    const later = h.slash(h.discord.users.bob, { prompt: 'a ball', steps: 2 });
    expect(await waitForText(later, /^⚠️.*$/m, 'the unreachable message')).toBe(
      '⚠️ The animation daemon is unreachable or shutting down, so the clip could not be made. Try again in a moment.',
    );
  });
});
