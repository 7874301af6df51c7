// The Discord surface's own lines about a job carry its jobId (#24 review, finding 16): the status message's line
// when the interaction token stops working (here: revoked mid-job) comes from a logger the surface handed it once the
// job was accepted. Real discord.js against the emulator, a real daemon, the plugin logging JSON into a capture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botLogger } from '../../bots/core/logger.ts';
import { createLogger } from '../../shared/log/create-logger.ts';
import { startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';

let h: DiscordHarness;
const lines: string[] = [];

beforeAll(async () => {
  const logger = botLogger(createLogger({ level: 'info', format: 'json', scope: 'discord', write: (l) => lines.push(l) }));
  h = await startDiscordHarness({ plugin: { logger } });
}, 120_000);
afterAll(() => h?.close());

describe('Discord surface lines about a job', () => {
  it('carry its jobId', async () => {
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a slow green ball', seed: 4, steps: 30, model: 'slow' });
    await h.discord.waitFor(() => /step \d+\/30/.test(h.discord.originalMessage(interaction)?.content ?? ''), 60_000, 'progress through the webhook');
    h.discord.revokeToken(interaction);
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    await h.waitForClip(threadId);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const switched = records.filter((r) => String(r.msg).startsWith(`interaction ${interaction.id}: Discord refused the interaction token`));
    console.log(`token line: ${JSON.stringify(switched)}`);
    expect(switched).toHaveLength(1);
    expect(switched[0]).toMatchObject({ level: 'info', scope: 'discord', jobId: `discord-${interaction.id}` });
  }, 120_000);
});
