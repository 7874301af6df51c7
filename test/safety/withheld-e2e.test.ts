// The output safety check end to end over real gRPC on loopback (issue #25): a fixture model whose frames are known
// (test/fixtures/fixture-model.ts: "sunset" makes bright red-heavy frames, "a red ball" dark ones) with the fixture
// "red" classifier (score = sigmoid(20·(mean red − 0.6))), as the package's own safety/ and as the daemon-wide
// ANIMATE_SAFETY_MODEL_DIR. A flagged clip ends PERMISSION_DENIED + OUTPUT_WITHHELD with a message naming the label,
// and no clip chunk, Done or flagged preview reaches the client; the other passes. Withheld clips are counted in
// animate_refusals_total{reason="safety"} and logged with the requester, without the prompt unless logPrompts.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore } from '../../bots/core/bot.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { silentLogger as botSilent } from '../../bots/core/logger.ts';
import type { Requester } from '../../bots/core/adapter.ts';
import { createLogger } from '../../inference/log.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';
import { buildFixtureModelsDir } from '../fixtures/safety-fixture-package.ts';
import { buildFixtureClassifier } from '../fixtures/safety-classifier.ts';
import { clipBytes, collectSettled } from '../helpers/fixture-daemon.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

const alice = { platform: 'DISCORD' as const, serverId: 'guild-7', userId: 'alice-42', channelId: 'c1', displayName: 'Alice' };
const RED = { prompt: 'sunset', seed: 1 };
const DARK = { prompt: 'a red ball', seed: 1 };
const WITHHELD = 'the clip was withheld: the daemon\'s output safety check flagged it as "red", so none of it was sent; try another prompt or seed';
const request = (which: typeof RED, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ ...which, steps: 4, requester: alice, formats: ['MP4'], ...extra });

interface Served {
  daemon: RunningDaemon;
  client: AnimatorConnection;
  log: string[];
}
const jsonLogger = (into: string[]) => createLogger('info', (line) => into.push(line), 'daemon', undefined, { format: 'json' });
const withheldLines = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === 'clip withheld');
const safetyRefusals = async (d: RunningDaemon) => Number(/^animate_refusals_total\{reason="safety"\} (\d+)$/m.exec(await d.metrics.text())?.[1]);

let dir: string;
let own: Served; // the package's own safety/
let wide: Served; // a package without one, the daemon-wide classifier, logPrompts on
async function serve(modelsDir: string, extra: Parameters<typeof startDaemon>[0]): Promise<Served> {
  const log: string[] = [];
  const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: jsonLogger(log), ...extra });
  return { daemon, client: connectAnimator(daemon.address), log };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-safety-e2e-'));
  const classifier = { level: 0.6, k: 20, inputSize: [16, 16] as [number, number] };
  const withOwn = await buildFixtureModelsDir(path.join(dir, 'own'), { safety: classifier });
  const plain = await buildFixtureModelsDir(path.join(dir, 'plain'), {});
  const daemonWide = await buildFixtureClassifier(path.join(dir, 'daemon-classifier'), classifier);
  [own, wide] = await Promise.all([serve(withOwn, {}), serve(plain, { safetyModelDir: daemonWide.dir, logPrompts: true })]);
}, 120_000);
afterAll(async () => {
  for (const s of [own, wide]) {
    s?.client.close();
    await s?.daemon.close({ graceMs: 0 });
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['the package\'s safety/', () => own],
  ['the daemon-wide ANIMATE_SAFETY_MODEL_DIR', () => wide],
])('withheld by %s', (_, served) => {
  it('a red clip ends PERMISSION_DENIED + OUTPUT_WITHHELD naming the label; nothing of it is sent', async () => {
    const { client, daemon } = served();
    const before = await safetyRefusals(daemon);
    const { events, error } = await collectSettled(client.generate(request(RED, { requestId: `red-${Math.random()}` })));
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect(error?.details).toBe(WITHHELD);
    expect(error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual(['OUTPUT_WITHHELD']);
    expect(events.filter((e) => e.clip)).toHaveLength(0);
    expect(events.filter((e) => e.done)).toHaveLength(0);
    // The x0 estimate is red from the first step: its previews are flagged too, so none was sent.
    expect(events.filter((e) => e.preview)).toHaveLength(0);
    expect(events.filter((e) => e.progress?.stage === 'encode')).toHaveLength(0);
    expect(events.find((e) => e.started)?.started?.seed).toBe(1);
    expect(await safetyRefusals(daemon)).toBe(before + 1);
  });

  it('a dark clip passes, with its previews and an MP4', async () => {
    const { client } = served();
    const { events, error } = await collectSettled(client.generate(request(DARK)));
    expect(error).toBeUndefined();
    expect(events.filter((e) => e.done)).toHaveLength(1);
    expect(events.filter((e) => e.preview).length).toBeGreaterThanOrEqual(1);
    expect(clipBytes(events).subarray(4, 8).toString('latin1')).toBe('ftyp');
  });
});

describe('the withheld line in the log', () => {
  it('names the requester, the label and the scores, and not the prompt unless ANIMATE_LOG_PROMPTS', async () => {
    const [ownLine] = withheldLines(own.log);
    expect(ownLine).toMatchObject({ level: 'warn', reason: 'safety', code: 'OUTPUT_WITHHELD', platform: 'DISCORD', serverId: 'guild-7', userId: 'alice-42', model: 'fixture', labels: ['red'] });
    expect(ownLine).not.toHaveProperty('prompt');
    expect(JSON.stringify(own.log)).not.toContain('sunset');
    const looks = ownLine!.classifiers as Array<{ source: string; frames: number[]; scores: { red: number } }>;
    expect(looks.map((l) => [l.source, l.frames])).toEqual([['package', [0, 1, 3, 4]]]);
    expect(looks[0]!.scores.red).toBeGreaterThan(0.9);
    console.log(`withheld: red score ${looks[0]!.scores.red.toFixed(4)}, check ${String(ownLine!.ms)} ms`);
    const [wideLine] = withheldLines(wide.log);
    expect(wideLine).toMatchObject({ userId: 'alice-42', prompt: 'sunset', negativePrompt: '', labels: ['red'] });
    expect((wideLine!.classifiers as Array<{ source: string }>).map((l) => l.source)).toEqual(['daemon']);
  });
});

describe('the bots show why', () => {
  it('the bot core tells the person the clip was withheld and why, by the label', async () => {
    const core = createBotCore({ connection: own.client, logger: botSilent });
    try {
      const requester: Requester = { platform: 'plugin', userId: 'bob', displayName: 'Bob', channelId: 'c1', serverId: 's1' };
      const surface = new RecordingSurface();
      await (await core.animate(surface, requester, { prompt: 'sunset', seed: 1, steps: 4, variants: 1 })).finished;
      expect(surface.failure?.code).toBe(BotErrorCode.ContentRefused);
      expect(surface.failure?.message).toBe('The clip was withheld: the daemon\'s output safety check flagged it as "red", so none of it was sent; try another prompt or seed (OUTPUT_WITHHELD).');
    } finally {
      await core.close();
    }
  });
});

describe('start-up', () => {
  it('a broken daemon-wide classifier stops start-up naming ANIMATE_SAFETY_MODEL_DIR and the field', async () => {
    const bad = await buildFixtureClassifier(path.join(dir, 'bad-classifier'), { config: { thresholds: { blue: 0.5 } } });
    const modelsDir = await buildFixtureModelsDir(path.join(dir, 'bad'), {});
    await expect(startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: jsonLogger([]), safetyModelDir: bad.dir })).rejects.toThrow(
      `ANIMATE_SAFETY_MODEL_DIR: ${bad.dir}: config.json: thresholds.blue: "blue" is not one of labels (red)`,
    );
    await expect(startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: jsonLogger([]), safetyModelDir: path.join(dir, 'nowhere') })).rejects.toThrow(
      `ANIMATE_SAFETY_MODEL_DIR: ${path.join(dir, 'nowhere')} is not a folder (it should hold the classifier's model.onnx and config.json)`,
    );
  });

  it('a package whose safety/config.json is broken is not usable, naming the file', async () => {
    const modelsDir = await buildFixtureModelsDir(path.join(dir, 'bad-own'), { safety: { config: { frames_sampled: 0 } } });
    await expect(startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: jsonLogger([]) })).rejects.toThrow(
      'model "fixture" is not usable: safety/config.json: frames_sampled: must be a whole number from 1 to 64',
    );
  });
});
