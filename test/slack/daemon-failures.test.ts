// The Slack front-end when the daemon fails it: a full queue, then the daemon going away mid-job. Each ends
// with a clear message in the job's thread (real daemon, real Bolt HTTP receiver, Web API emulator).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { clipsInThread, parentMessage, startSlackHarness, statusMessages, type SlackHarness } from './emulator/harness.ts';

const CH = 'C0GENERAL';
let fx: FixtureDaemon;
let h: SlackHarness;
let slowDir: string;

beforeAll(async () => {
  slowDir = await mkdtemp(path.join(os.tmpdir(), 'animate-slack-gone-'));
  await buildFixturePackage(path.join(slowDir, 'slow'), { name: 'slow', burnMs: 320 });
  // One job at a time and one waiting: a third request finds the queue full.
  fx = await startFixtureDaemon({ daemon: { concurrency: 1, maxQueue: 1, modelDirs: [path.join(slowDir, 'slow')] } });
  h = await startSlackHarness({ connection: fx.client });
});
afterAll(async () => {
  await h?.close();
  await fx?.close();
  await rm(slowDir, { recursive: true, force: true });
});

const finalWarning = (threadTs: string, timeoutMs = 30_000) =>
  h.emulator
    .waitFor(() => {
      const s = statusMessages(h.emulator, CH, threadTs)[0];
      return s && /^:warning:/.test(s.text) ? s : undefined;
    }, timeoutMs, `a warning in thread ${threadTs}`)
    .catch((err: Error) => {
      throw new Error(`${err.message}; the thread has: ${JSON.stringify(h.emulator.thread(CH, threadTs).map((m) => m.history.map((v) => v.text)))}`);
    });

describe('daemon failures in Slack', () => {
  it('a full queue, then the daemon going away mid-job, each end with a clear message in the thread', async () => {
    await h.sender.slashCommand({ text: 'a long river flows --model slow --steps 50', user: 'U0ALICE', channel: CH });
    const running = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a long river flows'), 30_000, 'river parent');
    await h.emulator.waitFor(() => statusMessages(h.emulator, CH, running.ts)[0]?.history.some((v) => /step \d+\/50/.test(v.text)), 30_000, 'river progress');

    await h.sender.slashCommand({ text: 'a second wish --model slow', user: 'U0BOB', channel: CH });
    const waiting = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a second wish'), 30_000, 'second parent');
    await h.emulator.waitFor(() => statusMessages(h.emulator, CH, waiting.ts)[0]?.history.some((v) => /Next in the queue|position 1/.test(v.text)), 30_000, 'queue position');

    await h.sender.slashCommand({ text: 'a third wish --model slow', user: 'U0BOB', channel: CH });
    const third = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a third wish'), 30_000, 'third parent');
    const full = await finalWarning(third.ts);
    expect(full.text).toMatch(/queue is full.*Try again in/);
    await h.emulator.waitFor(() => /^:warning:/.test(third.text), 10_000, 'third parent marked');

    await fx.daemon.close({ graceMs: 0 });
    const gone = await finalWarning(running.ts);
    expect(gone.text).toMatch(/daemon/i);
    expect(clipsInThread(h.emulator, CH, running.ts)).toHaveLength(0);
    const notStarted = await finalWarning(waiting.ts);
    expect(notStarted.text).toMatch(/shutting down|send it again|daemon/i);
    await h.bot.plugin.idle();

    // With the daemon gone, a new /animate is told so too, in its thread.
    await h.sender.slashCommand({ text: 'a fourth wish', user: 'U0ALICE', channel: CH });
    const fourth = await h.emulator.waitFor(() => parentMessage(h.emulator, CH, 'a fourth wish'), 30_000, 'fourth parent');
    const unreachable = await finalWarning(fourth.ts);
    expect(unreachable.text).toMatch(/daemon is unreachable/);
    await h.bot.plugin.idle();
  });
});
