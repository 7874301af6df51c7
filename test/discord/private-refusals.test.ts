// Content refusals on Discord stay private (#24 review, finding 5): the refusal names the blocked term, so it must
// never be posted in the channel. The bot core's filter is checked before the public deferral (an ephemeral reply,
// callback type 4); the daemon's own policy (PROMPT_REFUSED) can only refuse after the deferral, and then the public
// deferred reply is deleted and the refusal sent as an ephemeral follow-up (Discord cannot make a sent reply
// ephemeral). Real discord.js against the emulator, a real daemon whose blocklist differs from the core's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import type { EmuMessage } from './emulator/index.ts';

const EPHEMERAL = 1 << 6;
let h: DiscordHarness;

beforeAll(async () => {
  // The core refuses "gore" itself; only the daemon knows "zeppelin".
  h = await startDiscordHarness({ core: { filter: { blockedTerms: ['gore'] } }, daemon: { blockedTerms: ['gore', 'zeppelin'] } });
}, 120_000);
afterAll(() => h?.close());

/** Messages of the general channel that are not deleted and are visible to everyone. */
const publicMessages = () => h.discord.messagesIn(h.discord.generalChannelId).filter((m) => (m.flags & EPHEMERAL) === 0);

describe('content refusals are private', () => {
  it("the core's filter answers ephemerally at once, before any public reply, and starts no job", async () => {
    const jobsBefore = h.core.jobs.size;
    const interaction = h.slash(h.discord.users.alice, { prompt: 'lots of gore', seed: 1, steps: 3 });
    const message = await h.discord.waitFor(() => {
      const m = h.discord.originalMessage(interaction);
      return m && m.content ? m : undefined;
    }, 30_000, 'a reply');
    expect(message.content).toBe('⚠️ Your prompt was refused by this server\'s content filter (it contains "gore"). Please rephrase it.');
    expect(message.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(interaction.responseType).toBe(4);
    expect(h.core.jobs.size).toBe(jobsBefore);
  });

  it("the daemon's PROMPT_REFUSED after the deferral: the public reply is deleted, the refusal sent privately", async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a red zeppelin in the sky', seed: 2, steps: 3 });
    const isRefusal = (m: EmuMessage) => m.webhookId !== null && m.content.includes('"zeppelin"');
    const refusal = await h.discord.waitFor(() => [...h.discord.world.messages.values()].find(isRefusal), 30_000, 'the refusal');
    console.log(`refusal: ${refusal.content}`);
    expect(refusal.content).toBe('⚠️ Your prompt was refused by this server\'s content filter (it contains "zeppelin"). Please rephrase it.');
    expect(refusal.flags & EPHEMERAL).toBe(EPHEMERAL);
    // It was deferred publicly (type 5): the public reply is gone, and no public message ever named the term.
    expect(interaction.responseType).toBe(5);
    const original = h.discord.world.messages.get(interaction.originalMessageId!)!;
    await h.discord.waitFor(() => original.deleted, 10_000, 'the public reply deleted');
    expect(original.revisions.some((r) => r.content.includes('zeppelin refused') || r.content.includes('"zeppelin"'))).toBe(false);
    expect(publicMessages().some((m) => m.content.includes('"zeppelin"'))).toBe(false);
    const deletes = h.discord.requests.filter((r) => r.method === 'DELETE' && r.path === `/webhooks/${h.discord.applicationId}/${interaction.token}/messages/@original`);
    expect(deletes.map((r) => r.status)).toEqual([204]);
  });
});
