// Every GenerateRequest field is validated: INVALID_ARGUMENT names the field and what it allows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { collect, collectSettled, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

let fx: FixtureDaemon;
beforeAll(async () => {
  fx = await startFixtureDaemon({ daemon: { token: 's3cret' } });
});
afterAll(async () => {
  await fx?.close();
});

// Fixture limits: steps 1–50, guidance 1–20, frames 1–33, sides 16–128 in multiples of 8, fps 1–30, prompt ≤ 200 chars.
const bad: Array<[string, GenerateRequest, RegExp]> = [
  ['empty prompt', { prompt: '   ' }, /^prompt: is empty/],
  ['prompt too long', { prompt: 'a'.repeat(201) }, /^prompt: is 201 characters long; at most 200/],
  ['negative prompt too long', { prompt: 'a ball', negativePrompt: 'b'.repeat(201) }, /^negative_prompt: .*at most 200/],
  ['steps 0', { prompt: 'a ball', steps: 0 }, /^steps: 0 is out of range; allowed: an integer from 1 to 50/],
  ['steps 51', { prompt: 'a ball', steps: 51 }, /^steps: 51 .*from 1 to 50/],
  ['guidance 0.5', { prompt: 'a ball', guidanceScale: 0.5 }, /^guidance_scale: 0.5 .*from 1 to 20/],
  ['guidance NaN', { prompt: 'a ball', guidanceScale: Number.NaN }, /^guidance_scale: NaN/],
  ['frames 40', { prompt: 'a ball', frames: 40 }, /^frames: 40 .*from 1 to 33/],
  ['width alone', { prompt: 'a ball', width: 64 }, /^height: width and height must be given together/],
  ['width not a multiple', { prompt: 'a ball', width: 60, height: 64 }, /^width: 60 is not a multiple of 8/],
  ['height too big', { prompt: 'a ball', width: 64, height: 256 }, /^height: 256 .*from 16 to 128/],
  ['aspect unknown', { prompt: 'a ball', aspect: '5:1' }, /^aspect: "5:1" is not supported; allowed: 1:1, 16:9/],
  ['aspect with size', { prompt: 'a ball', aspect: '1:1', width: 64, height: 64 }, /^aspect: give either aspect or width and height/],
  ['fps 0', { prompt: 'a ball', fps: 0 }, /^fps: 0 .*from 1 to 30/],
  ['fps 60', { prompt: 'a ball', fps: 60 }, /^fps: 60 .*from 1 to 30/],
  ['format twice', { prompt: 'a ball', formats: ['MP4', 'MP4'] }, /^formats: MP4 is listed twice/],
  ['preview every 0', { prompt: 'a ball', preview: { everyNSteps: 0 } }, /^preview.every_n_steps: 0 .*from 1 to 4/],
  ['preview max side 8', { prompt: 'a ball', preview: { maxSide: 8 } }, /^preview.max_side: 8 .*from 32 to 512/],
  ['request id with spaces', { prompt: 'a ball', requestId: 'has spaces' }, /^request_id: allowed: 1 to 128 characters/],
  ['upscale 5', { prompt: 'a ball', upscale: 5 }, /^upscale: 5 .*from 1 to 4/],
  ['max clip bytes 0', { prompt: 'a ball', maxClipBytes: 0 }, /^max_clip_bytes: 0 is out of range; allowed: an integer from 1 to 4294967295/],
  ['scheduler unknown', { prompt: 'a ball', scheduler: 'ddim' }, /^scheduler: "ddim" is unknown; allowed: euler, unipc, dpm\+\+/],
  ['user id too long', { prompt: 'a ball', requester: { userId: 'u'.repeat(129) } }, /^requester.user_id: .*at most 128/],
];

describe('INVALID_ARGUMENT names the field and its allowed range', () => {
  for (const [name, request, message] of bad) {
    it(name, async () => {
      const { events, error } = await collectSettled(fx.client.generate(request));
      expect(events).toEqual([]);
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(message);
    });
  }

  it('frames must be 1 + k·temporal factor, with suggestions', async () => {
    const other = await startFixtureDaemon({ fixture: { name: 'tf4', temporalFactor: 4 } });
    try {
      const { error } = await collectSettled(other.client.generate({ prompt: 'a ball', frames: 8 }));
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(error?.details).toBe('frames: 8 is not 1 + a multiple of 4 (this model compresses time 4×); try 5 or 9');
    } finally {
      await other.close();
    }
  });

  it('an aspect ratio picks a size on the grid with the default area', async () => {
    const events = await collect(fx.client.generate({ prompt: 'a ball', aspect: '16:9', steps: 1 }));
    const started = events.find((e) => e.started)!.started!;
    expect(started.width).toBeGreaterThan(started.height);
    expect(started.width % 8).toBe(0);
    expect(started.height % 8).toBe(0);
  });
});

describe('authentication', () => {
  it('UNAUTHENTICATED without the token, and with a wrong one', async () => {
    for (const token of [undefined, 'wrong']) {
      const client = connectAnimator(fx.daemon.address, { token });
      const { error } = await collectSettled(client.generate({ prompt: 'a ball' }));
      expect(error?.code).toBe(status.UNAUTHENTICATED);
      expect(error?.details).toMatch(/token/);
      await expect(client.listModels()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: status.UNAUTHENTICATED });
      client.close();
    }
  });
});
