// Styles end to end over real gRPC on loopback: a daemon serving the LoRA fixture package lists its styles in
// ListModels, a Generate with a style makes other frames than without (decoded back with ffmpeg), the same style and
// seed make the same clip byte for byte, strength 0 makes the base clip, Done says the style, and an unknown style is
// INVALID_ARGUMENT naming the model and its styles.
import { status } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../inference/log.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { buildLoraFixturePackage } from '../fixtures/lora-fixture.ts';
import { clipBytes, collect, collectSettled } from '../helpers/fixture-daemon.ts';

let modelsDir: string;
let daemon: RunningDaemon;
let client: AnimatorConnection;

const REQUEST: GenerateRequest = { prompt: 'a red ball bounces on the grass', seed: 7, steps: 3, frames: 3, width: 32, height: 32, preview: { disabled: true } };

beforeAll(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'lora-e2e-'));
  await buildLoraFixturePackage(path.join(modelsDir, 'fixture'));
  daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: silentLogger, threads: 1 });
  client = connectAnimator(daemon.address);
});

afterAll(async () => {
  client?.close();
  await daemon?.close({ graceMs: 0 });
  await rm(modelsDir, { recursive: true, force: true });
});

async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [fa, fb] = [await decodeFrames(a), await decodeFrames(b)];
  let sum = 0;
  let count = 0;
  fa.frames.forEach((frame, f) => frame.forEach((v, i) => {
    sum += Math.abs(v - fb.frames[f]![i]!);
    count += 1;
  }));
  return sum / count;
}

describe('styles over gRPC', () => {
  it('ListModels lists each style with its description and example prompt', async () => {
    const list = await client.listModels();
    expect(list.models[0]!.styles).toEqual([
      { name: 'ink', description: 'ink wash: black strokes on rice paper', examplePrompt: 'a red ball bounces on the grass' },
      { name: 'neon', description: 'neon outlines on black', examplePrompt: 'a blue bird flies at night' },
    ]);
  });

  it('a style changes the frames; the same style and seed repeat them exactly; strength 0 is the base clip', async () => {
    const base = await collect(client.generate(REQUEST));
    const ink = await collect(client.generate({ ...REQUEST, style: 'ink', styleStrength: 2 }));
    const inkAgain = await collect(client.generate({ ...REQUEST, style: 'ink', styleStrength: 2 }));
    const zero = await collect(client.generate({ ...REQUEST, style: 'ink', styleStrength: 0 }));
    const done = ink.at(-1)!.done!;
    expect([done.style, done.styleStrength]).toEqual(['ink', 2]);
    // Done reports the strength used: 1.98 is merged (and cached) as 2, the same clip byte for byte.
    const near = await collect(client.generate({ ...REQUEST, style: 'ink', styleStrength: 1.98 }));
    expect([near.at(-1)!.done!.style, near.at(-1)!.done!.styleStrength]).toEqual(['ink', 2]);
    expect(clipBytes(near).equals(clipBytes(ink))).toBe(true);
    expect([base.at(-1)!.done!.style, base.at(-1)!.done!.styleStrength]).toEqual(['', 0]);
    expect(clipBytes(inkAgain).equals(clipBytes(ink))).toBe(true);
    expect(Buffer.from(inkAgain.at(-1)!.done!.lastFrame).equals(Buffer.from(done.lastFrame))).toBe(true);
    // Strength 0 is the base model's frames; the files differ only in their provenance tags (style=ink, style_strength=0).
    expect(Buffer.from(zero.at(-1)!.done!.lastFrame).equals(Buffer.from(base.at(-1)!.done!.lastFrame))).toBe(true);
    expect(await meanAbsDiff(clipBytes(base), clipBytes(zero))).toBe(0);
    const moved = await meanAbsDiff(clipBytes(base), clipBytes(ink));
    console.log(`[lora-e2e] mean |ink@2 − base| over decoded frames: ${moved.toFixed(2)} of 255; clip ${clipBytes(ink).length} bytes`);
    expect(clipBytes(ink).equals(clipBytes(base))).toBe(false);
    expect(moved).toBeGreaterThan(1);
  });

  it('refuses an unknown style and an out-of-range strength with INVALID_ARGUMENT', async () => {
    const unknown = await collectSettled(client.generate({ ...REQUEST, style: 'chalk' }));
    expect(unknown.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(unknown.error?.details).toBe('style: "chalk" is not a style of model "fixture"; its styles: ink, neon');
    const strong = await collectSettled(client.generate({ ...REQUEST, style: 'ink', styleStrength: 3 }));
    expect(strong.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(strong.error?.details).toBe('style_strength: 3 is out of range; allowed: a number from 0 to 2');
  });

  it('a request_id resent with another style is another request (REQUEST_ID_REUSED)', async () => {
    await collect(client.generate({ ...REQUEST, requestId: 'lora-reuse-1', style: 'neon' }));
    const again = await collectSettled(client.generate({ ...REQUEST, requestId: 'lora-reuse-1', style: 'ink' }));
    expect(again.error?.code).toBe(status.ALREADY_EXISTS);
  });
});
