// Slack's 429s are counted from the Web API client's RATE_LIMITED event (bots/slack/rate-limits.ts, #24 review
// finding 12), not from its log text: the real Bolt app and its real WebClient against the Slack emulator answering
// 429 with Retry-After, a real daemon behind the bot core. Also a host's own WebClient handed to replyWithClip, and
// the surface's own warn lines about a job carrying its jobId (finding 16), from the same captured JSON lines.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botLogger } from '../../bots/core/logger.ts';
import { BotMetrics } from '../../bots/core/metrics.ts';
import { createLogger } from '../../shared/log/create-logger.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { clipsInThread, parentMessage, startSlackHarness, type SlackHarness } from './emulator/harness.ts';

const CH = 'C0GENERAL';
const ALICE = 'U0ALICE';

let fx: FixtureDaemon;
let h: SlackHarness;
const metrics = new BotMetrics();
const lines: string[] = [];

const counted = async () => {
  const line = (await metrics.text()).split('\n').find((l) => l.startsWith('animate_bot_rate_limited_total{platform="slack"} '));
  return Number(line?.split(' ')[1]);
};
const limitedLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => String(r.msg).startsWith('slack: rate limited (429)'));

beforeAll(async () => {
  fx = await startFixtureDaemon();
  const logger = botLogger(createLogger({ level: 'warn', format: 'json', scope: 'slack', write: (l) => lines.push(l) }));
  h = await startSlackHarness({ connection: fx.client, core: { metrics }, logger });
}, 120_000);
afterAll(async () => {
  await h?.close();
  await fx?.close();
});

describe('Slack 429s', () => {
  it("are counted once per 429 the emulator sent to the app's clients, and logged; the clip still arrives", async () => {
    expect(await counted()).toBe(0);
    h.emulator.rateLimit('chat.postMessage', 1, 2);
    const mark = h.emulator.calls.length;
    await h.sender.slashCommand({ text: 'a green cube spins --seed 3 --steps 3', user: ALICE, channel: CH });
    const parent = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a green cube spins'), 30_000, 'the parent');
    await h.emulator.waitFor(() => (clipsInThread(h.emulator, CH, parent.ts).length > 0 ? true : undefined), 60_000, 'the clip');
    await h.bot.plugin.idle();
    const sent429 = h.emulator.calls.slice(mark).filter((c) => c.status === 429).length;
    console.log(`429s sent by the emulator: ${sent429}; counted: ${await counted()}`);
    expect(sent429).toBe(2);
    expect(await counted()).toBe(2);
    expect(limitedLines()).toHaveLength(2);
    expect(limitedLines()[0]).toMatchObject({ level: 'warn', scope: 'slack', retryAfterSeconds: 1, method: 'chat.postMessage' });
  }, 120_000);

  it("are counted for a host's own WebClient passed to replyWithClip", async () => {
    const before = await counted();
    const hostClient = new WebClient(h.emulator.botToken, { slackApiUrl: h.emulator.apiUrl });
    h.emulator.rateLimit('chat.postMessage', 1, 1);
    const outcomes = await h.bot.plugin.replyWithClip({ channel: CH, userId: ALICE, prompt: 'a host cube', options: { seed: 4, steps: 3 }, client: hostClient });
    expect(outcomes.map((o) => o.status)).toEqual(['delivered']);
    expect(await counted()).toBe(before + 1);
  }, 120_000);
});

describe('Slack surface lines about a job', () => {
  it('carry its jobId (#24 review, finding 16)', async () => {
    const mark = lines.length;
    // Every status edit fails: the surface logs its progress and final edits as lines about this job.
    h.emulator.failNext('chat.update', 'internal_error', 100);
    await h.sender.slashCommand({ text: 'a yellow cube bobs --seed 5 --steps 4', user: ALICE, channel: CH });
    await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a yellow cube bobs'), 30_000, 'the parent');
    await h.emulator.waitFor(() => lines.slice(mark).some((l) => l.includes('could not edit the status message')) || undefined, 60_000, 'the final edit failing');
    await h.bot.plugin.idle();
    h.emulator.failNext('chat.update', 'internal_error', 0);
    const surfaceLines = lines.slice(mark).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => /^slack: (progress update failed|could not edit the status message)/.test(String(r.msg)));
    console.log(`surface lines: ${surfaceLines.map((r) => `${r.msg} [${r.jobId}]`).join(' | ')}`);
    expect(surfaceLines.length).toBeGreaterThanOrEqual(1);
    const ids = new Set(surfaceLines.map((r) => r.jobId));
    expect(ids.size).toBe(1);
    const [jobId] = [...ids];
    expect(typeof jobId).toBe('string');
    expect(h.core.jobs.get(jobId as string)?.options.prompt).toBe('a yellow cube bobs');
  }, 120_000);
});
