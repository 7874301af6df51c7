// The bots' Prometheus metrics (bots/core/metrics.ts), scraped as text after driving the real bot core against a real
// daemon (fixture models) through the recording surface, and the real discord.js client against the Discord
// emulator: jobs by platform and outcome, the time to the first reply and to the first preview, an upload that
// failed, and 429s from Discord counted once each. Also `npm start`'s one /metrics serving the daemon's and the
// bots' registries together over HTTP.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../bots/core/adapter.ts';
import { createBotCore, type BotCore } from '../bots/core/bot.ts';
import { botLogger, silentLogger } from '../bots/core/logger.ts';
import { BotMetrics } from '../bots/core/metrics.ts';
import { BotMetrics as ExportedBotMetrics } from '../bots/discord/index.ts';
import { startAppMetrics } from '../app/metrics.ts';
import { createLogger } from '../shared/log/create-logger.ts';
import { buildFixturePackage } from './fixtures/fixture-model.ts';
import { startFixtureDaemon, type FixtureDaemon } from './helpers/fixture-daemon.ts';
import { RecordingSurface, testAdapter } from './helpers/recording-surface.ts';
import { startDiscordHarness, type DiscordHarness } from './discord/emulator/harness.ts';

/** The value of one series in a text exposition, e.g. value(text, 'animate_bot_jobs_total{platform="slack",outcome="failed"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const slack = { ...testAdapter(), platform: 'slack' as const };
const ann: Requester = { platform: 'slack', userId: 'ann', displayName: 'Ann', channelId: 'c1', serverId: 's1' };

describe('the bot core counts its jobs', () => {
  let fx: FixtureDaemon;
  let slowDir: string;
  let core: BotCore;
  let metrics: BotMetrics;

  beforeAll(async () => {
    slowDir = await mkdtemp(path.join(os.tmpdir(), 'animate-metrics-slow-'));
    await buildFixturePackage(path.join(slowDir, 'slow'), { name: 'slow', burnMs: 80 });
    fx = await startFixtureDaemon({ daemon: { modelDirs: [path.join(slowDir, 'slow')], concurrency: 2 } });
    metrics = new BotMetrics({ defaultMetrics: false });
    core = createBotCore({ connection: fx.client, logger: silentLogger, metrics, limits: { perUserConcurrent: 8, perUserPerWindow: 0 } });
  }, 120_000);
  afterAll(async () => {
    await core?.close();
    await fx?.close();
    await rm(slowDir, { recursive: true, force: true });
  });

  it('by platform and outcome, with acks, first previews and an upload that failed', async () => {
    const before = await metrics.text();
    expect(value(before, 'animate_bot_jobs_total{platform="slack",outcome="delivered"}')).toBe(0);
    expect(value(before, 'animate_bot_upload_failures_total{platform="slack"}')).toBe(0);

    // Two delivered (one request of two variants), one whose upload fails, one cancelled.
    const two = await core.animate(new RecordingSurface(slack), ann, { prompt: 'a red ball bounces', seed: 1, steps: 3, variants: 2 });
    const failing = new RecordingSurface(slack);
    failing.failDelivery = new Error('files.completeUploadExternal: file_upload_failed');
    const failed = await core.animate(failing, ann, { prompt: 'a blue box', seed: 2, steps: 3, variants: 1 });
    const slowSurface = new RecordingSurface(slack);
    const slow = await core.animate(slowSurface, ann, { prompt: 'a slow ball', model: 'slow', steps: 50, variants: 1 });
    expect(slow.error).toBeUndefined();
    // Cancelled once its first preview is shown, so each of the four jobs has one.
    for (let i = 0; i < 600 && !slowSurface.kinds().includes('preview'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(slowSurface.kinds()).toContain('preview');
    await core.action(slow.jobs[0]!.id, { kind: 'cancel' }, ann);
    const outcomes = (await Promise.all([two.finished, failed.finished, slow.finished])).flat().map((o) => o.status);
    expect(outcomes).toEqual(['delivered', 'delivered', 'failed', 'cancelled']);

    const text = await metrics.text();
    const jobs = (outcome: string) => value(text, `animate_bot_jobs_total{platform="slack",outcome="${outcome}"}`);
    expect([jobs('delivered'), jobs('failed'), jobs('cancelled')]).toEqual([2, 1, 1]);
    expect(value(text, 'animate_bot_jobs_total{platform="discord",outcome="delivered"}')).toBe(0);
    expect(value(text, 'animate_bot_upload_failures_total{platform="slack"}')).toBe(1);
    // One first reply per request (the second variant's accepted message is no first reply): three requests.
    expect(value(text, 'animate_bot_ack_seconds_count{platform="slack"}')).toBe(3);
    const ackSum = value(text, 'animate_bot_ack_seconds_sum{platform="slack"}')!;
    // A preview came for every job that ran to its end or its cancel (the fixture daemon previews every few steps).
    const previews = value(text, 'animate_bot_first_preview_seconds_count{platform="slack"}')!;
    const previewSum = value(text, 'animate_bot_first_preview_seconds_sum{platform="slack"}')!;
    console.log(`acks: 3, sum ${ackSum.toFixed(4)} s; first previews: ${previews}, sum ${previewSum.toFixed(3)} s`);
    expect(ackSum).toBeGreaterThanOrEqual(0);
    // Generous bounds for a loaded 2-core machine: a reply is a local call here, a preview a few denoising steps.
    expect(ackSum).toBeLessThan(30);
    expect(previews).toBe(4);
    expect(previewSum).toBeGreaterThan(0);
  }, 120_000);
});

describe('Discord 429s', () => {
  let h: DiscordHarness;
  let metrics: BotMetrics;
  const lines: string[] = [];

  beforeAll(async () => {
    metrics = new BotMetrics({ defaultMetrics: false });
    // The plugin on the harness's (a host's) client forwards its events itself (attach()): no forwardClientEvents here.
    const logger = botLogger(createLogger({ level: 'warn', format: 'json', scope: 'discord', write: (l) => lines.push(l) }));
    h = await startDiscordHarness({ core: { metrics }, plugin: { logger } });
  }, 120_000);
  afterAll(() => h?.close());

  it('are counted once per 429 the emulator sent, and logged; the clip still arrives', async () => {
    h.discord.rateLimit({ method: 'PATCH', path: /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/, times: 2, retryAfterSeconds: 0.3 });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a rate limited cube', seed: 11, steps: 3 });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    await h.waitForClip(threadId);
    // The job ends (and is counted) once its last message edit after the clip is through.
    const delivered = async () => value(await metrics.text(), 'animate_bot_jobs_total{platform="discord",outcome="delivered"}');
    for (let i = 0; i < 200 && (await delivered()) !== 1; i++) await new Promise((r) => setTimeout(r, 50));
    const sent429 = h.discord.requests.filter((r) => r.status === 429).length;
    const text = await metrics.text();
    console.log(`429s sent by the emulator: ${sent429}; counted: ${value(text, 'animate_bot_rate_limited_total{platform="discord"}')}`);
    expect(sent429).toBe(2);
    expect(value(text, 'animate_bot_rate_limited_total{platform="discord"}')).toBe(2);
    expect(value(text, 'animate_bot_jobs_total{platform="discord",outcome="delivered"}')).toBe(1);
    const limited = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => String(r.msg).startsWith('discord: rate limited (429)'));
    expect(limited).toHaveLength(2);
    expect(limited[0]).toMatchObject({ level: 'warn', scope: 'discord', method: 'PATCH' });
  }, 120_000);

  it('stop being counted once the plugin is detached, and count again when it is attached again', async () => {
    const counted = async () => value(await metrics.text(), 'animate_bot_rate_limited_total{platform="discord"}')!;
    const before = await counted();
    h.plugin.detach();
    // The host's own request through the same client, answered 429 once: not ours to count while detached.
    const channel = await h.client.channels.fetch(h.discord.generalChannelId);
    h.discord.rateLimit({ method: 'POST', path: /^\/channels\/\d+\/messages$/, times: 1, retryAfterSeconds: 0.2 });
    if (!channel?.isSendable()) throw new Error('general channel not sendable');
    await channel.send('a host message');
    expect(await counted()).toBe(before);
    h.plugin.attach();
    h.discord.rateLimit({ method: 'POST', path: /^\/channels\/\d+\/messages$/, times: 1, retryAfterSeconds: 0.2 });
    await channel.send('another host message');
    expect(await counted()).toBe(before + 1);
    expect(ExportedBotMetrics).toBe(BotMetrics);
  }, 60_000);

  it("measure the ack from the interaction's arrival, so Discord's own wait (the deferral) is in it", async () => {
    const ackSeconds = async () => {
      const text = await metrics.text();
      return { count: value(text, 'animate_bot_ack_seconds_count{platform="discord"}')!, sum: value(text, 'animate_bot_ack_seconds_sum{platform="discord"}')! };
    };
    const before = await ackSeconds();
    // The deferral's callback is answered 1.2 s late: the bot waits that long before the core sees the request.
    h.discord.slowResponses({ method: 'POST', path: /^\/interactions\/\d+\/[^/]+\/callback$/, times: 1, delayMs: 1200 });
    const interaction = h.slash(h.discord.users.alice, { prompt: 'a late acknowledged cube', seed: 12, steps: 3 });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(interaction)?.threadId, 60_000, 'the thread');
    await h.waitForClip(threadId);
    for (let i = 0; i < 200 && (await ackSeconds()).count === before.count; i++) await new Promise((r) => setTimeout(r, 50));
    const after = await ackSeconds();
    const ack = after.sum - before.sum;
    console.log(`ack with a 1.2 s deferral: ${ack.toFixed(3)} s`);
    expect(after.count - before.count).toBe(1);
    // At least the deferral's delay (the lower bound cannot flake); an ack stamped after the deferral is far less.
    expect(ack).toBeGreaterThanOrEqual(1.15);
  }, 120_000);
});

describe("npm start's one /metrics", () => {
  it("serves the daemon's and the bots' metrics together", async () => {
    const fx = await startFixtureDaemon();
    const bots = new BotMetrics({ defaultMetrics: false });
    bots.rateLimited('slack');
    const server = await startAppMetrics({ listen: '127.0.0.1:0', registries: [fx.daemon.metrics.registry, bots.registry], healthy: () => true });
    try {
      const res = await fetch(`http://${server.address}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(value(text, 'animate_bot_rate_limited_total{platform="slack"}')).toBe(1);
      expect(value(text, 'animate_jobs_total{outcome="done",code=""}')).toBe(0);
      expect(value(text, 'animate_workers')).toBe(1);
      expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    } finally {
      await server.close();
      await fx.close();
    }
  }, 120_000);
});

describe("prom-client's process metrics", () => {
  it('are off unless asked for: a bot core (a plugin, a test) starts no event-loop or GC observers of its own', async () => {
    // collectDefaultMetrics starts a monitorEventLoopDelay histogram and a GC observer for the rest of the process.
    const core = createBotCore({ daemonAddress: '127.0.0.1:1', logger: silentLogger });
    try {
      const text = await core.metrics!.text();
      expect(text).toContain('# TYPE animate_bot_jobs_total counter');
      expect(text).not.toContain('process_cpu_user_seconds_total');
      expect(text).not.toContain('nodejs_eventloop_lag');
    } finally {
      await core.close({ drainMs: 0 });
    }
    expect(await new BotMetrics().text()).not.toContain('process_cpu_user_seconds_total');
    // A process serving this registry alone (bots/core/standalone.ts) turns them on.
    expect(await new BotMetrics({ defaultMetrics: true }).text()).toContain('# TYPE process_cpu_user_seconds_total counter');
  });
});
