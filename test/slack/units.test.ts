// Small pure parts of the Slack front-end: configuration, the workspace rate gate (with a manual clock),
// idempotency keys and the Block Kit renderings.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BotCore } from '../../bots/core/bot.ts';
import { ManualClock } from '../../bots/core/clock.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { createSlackFrontEnd, startSlackBot } from '../../bots/slack/front-end.ts';
import { CodedError } from '../../shared/errors.ts';
import { RecentKeys } from '../../bots/slack/dedupe.ts';
import { loadSlackConfig, SlackConfigError } from '../../bots/slack/config.ts';
import { progressBar, refineModal, doneButtons } from '../../bots/slack/format.ts';
import { SlackRateGate } from '../../bots/slack/rate-gate.ts';
import { startSlackEmulator, type SlackEmulator } from './emulator/api-emulator.ts';

describe('loadSlackConfig', () => {
  it('names the missing variable', () => {
    const missing = (env: Record<string, string>) => {
      try {
        loadSlackConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(SlackConfigError);
        return (err as SlackConfigError).variable + ': ' + (err as Error).message;
      }
      return 'no error';
    };
    expect(missing({})).toMatch(/^SLACK_BOT_TOKEN: SLACK_BOT_TOKEN is not set/);
    expect(missing({ SLACK_BOT_TOKEN: 'xoxb-1' })).toMatch(/^SLACK_APP_TOKEN: .*connections:write/);
    expect(missing({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'http' })).toMatch(/^SLACK_SIGNING_SECRET: /);
    expect(missing({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'carrier-pigeon' })).toMatch(/^SLACK_MODE: SLACK_MODE must be "socket" or "http"/);
    expect(missing({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'http', SLACK_SIGNING_SECRET: 's', SLACK_PORT: '99999' })).toMatch(/^SLACK_PORT: /);
  });

  it('reads both transports with their defaults', () => {
    expect(loadSlackConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' })).toEqual({
      botToken: 'xoxb-1',
      appToken: 'xapp-1',
      mode: 'socket',
      port: 3000,
      host: '0.0.0.0',
      adminUserIds: [],
      maxUploadBytes: 1024 * 1024 * 1024,
      startTimeoutMs: 15_000,
    });
    const http = loadSlackConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_MODE: 'http',
      SLACK_SIGNING_SECRET: 'sec',
      SLACK_PORT: '8080',
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      SLACK_ADMIN_USER_IDS: 'U1, U2',
      SLACK_MAX_UPLOAD_MB: '5',
      SLACK_START_TIMEOUT_SECONDS: '4',
    });
    expect(http).toMatchObject({ mode: 'http', signingSecret: 'sec', port: 8080, apiUrl: 'http://127.0.0.1:9/api/', adminUserIds: ['U1', 'U2'], maxUploadBytes: 5 * 1024 * 1024, startTimeoutMs: 4000 });
    expect(() => loadSlackConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_START_TIMEOUT_SECONDS: '0' })).toThrow(/^SLACK_START_TIMEOUT_SECONDS must be a whole number from 1 to 300/);
  });
});

// Every core the Slack front-end makes for itself, with its close() recorded (the real core underneath).
const madeCores = vi.hoisted(() => [] as Array<{ close: ReturnType<typeof vi.fn> }>);
vi.mock('../../bots/core/bot.ts', async (original) => {
  const real = await original<typeof import('../../bots/core/bot.ts')>();
  return {
    ...real,
    createBotCore: (...args: Parameters<typeof real.createBotCore>) => {
      const core = real.createBotCore(...args);
      const recorded = { ...core, close: vi.fn(core.close) };
      madeCores.push(recorded);
      return recorded;
    },
  };
});

describe('a Slack start that fails cleans up', () => {
  const busyPort = async (): Promise<net.Server> => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  // The Web API emulator answers the start's auth.test, so that what fails is the step under test.
  let emulator: SlackEmulator;
  beforeAll(async () => {
    emulator = await startSlackEmulator();
  });
  afterAll(async () => {
    await emulator?.close();
  });
  const httpConfig = (port: number) => ({ botToken: emulator.botToken, mode: 'http' as const, signingSecret: 's', port, host: '127.0.0.1', apiUrl: emulator.apiUrl, adminUserIds: [], maxUploadBytes: 1024 });

  it('closes the core it made when app.start() fails (port taken), and stop() after it is safe', async () => {
    const taken = await busyPort();
    try {
      const port = (taken.address() as net.AddressInfo).port;
      madeCores.length = 0;
      await expect(startSlackBot(httpConfig(port), { daemon: { address: '127.0.0.1:1' }, logger: silentLogger })).rejects.toThrow(/EADDRINUSE/);
      expect(madeCores).toHaveLength(1);
      expect(madeCores[0]!.close).toHaveBeenCalledTimes(1);

      // On a shared core: the core stays open (its owner closes it), and the front-end's stop() has nothing to undo.
      const shared = { close: vi.fn(async () => ({ delivered: 0, toldToResend: 0, stopped: 0 })) } as unknown as BotCore;
      const frontEnd = createSlackFrontEnd(httpConfig(port), { core: shared, logger: silentLogger });
      await expect(frontEnd.start()).rejects.toThrow(/EADDRINUSE/);
      await expect(frontEnd.stop()).resolves.toBeUndefined();
      expect(shared.close).not.toHaveBeenCalled();
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('SlackConfigError is a CodedError with an UPPER_SNAKE code', async () => {
    const failure = await startSlackBot(httpConfig(0), { logger: silentLogger }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CodedError);
    expect(failure).toMatchObject({ code: 'INVALID_SLACK_SETTING', name: 'SlackConfigError', variable: 'ANIMATE_DAEMON_ADDRESS' });
  });
});

describe('SlackRateGate', () => {
  it('keeps chat.update under its per-minute budget across jobs, dropping what has no token', async () => {
    const clock = new ManualClock();
    const gate = new SlackRateGate({ clock, perMinute: { 'chat.update': 30 } });
    let sent = 0;
    // 10 jobs each trying an update every 100 ms for 60 s.
    for (let t = 0; t < 60_000; t += 100) {
      for (let job = 0; job < 10; job++) if (gate.tryAcquire('chat.update')) sent++;
      await clock.advance(100);
    }
    // 30 a minute plus the initial burst of 5.
    expect(sent).toBeGreaterThanOrEqual(30);
    expect(sent).toBeLessThanOrEqual(35);
  });

  it('spaces posts in one channel to one a second after a burst of three, and waits for final posts', async () => {
    const clock = new ManualClock();
    const gate = new SlackRateGate({ clock });
    const times: number[] = [];
    const start = clock.now();
    const all = Promise.all(Array.from({ length: 6 }, () => gate.acquire('chat.postMessage', 'C1').then(() => times.push(clock.now() - start))));
    for (let i = 0; i < 50 && times.length < 6; i++) await clock.advance(100);
    await all;
    expect(times.slice(0, 3)).toEqual([0, 0, 0]);
    expect(times[3]).toBeGreaterThanOrEqual(1000);
    expect(times[5]! - times[4]!).toBeGreaterThanOrEqual(1000);
    // Another channel is not held up by C1.
    expect(gate.tryAcquire('chat.postMessage', 'C2')).toBe(true);
  });
});

describe('RecentKeys', () => {
  it('says "first time" once per key until the TTL passes', () => {
    let now = 0;
    const keys = new RecentKeys(1000, () => now);
    expect(keys.firstTime('ev:1')).toBe(true);
    expect(keys.firstTime('ev:1')).toBe(false);
    expect(keys.firstTime('ev:2')).toBe(true);
    now = 1500;
    expect(keys.firstTime('ev:1')).toBe(true);
  });
});

describe('formats', () => {
  it('draws the progress bar and the job buttons', () => {
    expect(progressBar(5, 20, 10)).toBe('███░░░░░░░ 25%');
    expect(progressBar(20, 20, 10)).toBe('██████████ 100%');
    const ids = (doneButtons('job-1') as { elements: { action_id: string; value: string }[] }).elements.map((e) => `${e.action_id}=${e.value}`);
    expect(ids).toEqual(['animate_reroll=job-1', 'animate_variations=job-1', 'animate_refine=job-1']);
    const modal = refineModal('a red ball', '{"jobId":"job-1"}');
    expect(JSON.stringify(modal)).toContain('"initial_value":"a red ball"');
  });
});
