// A model package is validated at load: each problem names the file, input or shape at fault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { ModelInvalidError } from '../../inference/errors.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { collect } from '../helpers/fixture-daemon.ts';

let dir: string;
let worker: OnnxWorkerClient;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-pkg-'));
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
});
afterAll(async () => {
  await worker.close();
  await rm(dir, { recursive: true, force: true });
});

async function loadError(name: string, options: Parameters<typeof buildFixturePackage>[1], mutate?: (d: string) => Promise<void>): Promise<Error> {
  const fx = await buildFixturePackage(path.join(dir, name), options);
  await mutate?.(fx.dir);
  try {
    await ModelSessions.load(await readModelPackage(fx.dir), worker);
  } catch (err) {
    return err as Error;
  }
  throw new Error('the package loaded although it is broken');
}

describe('package validation', () => {
  const missing: Array<[Parameters<typeof buildFixturePackage>[1], RegExp]> = [
    [{ omit: ['model_index'] }, /model_index\.json is missing/],
    [{ omit: ['tokenizer'] }, /tokenizer\/tokenizer\.json is missing/],
    [{ omit: ['scheduler'] }, /scheduler\/scheduler_config\.json is missing/],
    [{ omit: ['text_encoder'] }, /text_encoder\/model\.onnx is missing/],
    [{ omit: ['transformer'] }, /transformer\/model\.onnx or unet\/model\.onnx is missing/],
    [{ omit: ['vae_decoder'] }, /vae_decoder\/model\.onnx is missing/],
  ];
  missing.forEach(([options, message], i) => {
    it(`names the missing file (${options!.omit![0]})`, async () => {
      const err = await loadError(`missing-${i}`, options);
      expect(err).toBeInstanceOf(ModelInvalidError);
      expect(err.message).toMatch(message);
    });
  });

  it('names a wrong input of the denoiser', async () => {
    const err = await loadError('renamed', { renameTransformerInput: { from: 'timestep', to: 't' } });
    expect(err.message).toMatch(/transformer\/model\.onnx has an unexpected input "t"; its inputs must be hidden_states, timestep, encoder_hidden_states/);
  });

  it('names a channel count that disagrees with model_index.json', async () => {
    const err = await loadError('channels', {}, async (d) => {
      const index = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(path.join(d, 'model_index.json'), 'utf8')));
      index.animate.latent_channels = 6;
      index.animate.latents_mean = undefined;
      index.animate.latents_std = undefined;
      await writeFile(path.join(d, 'model_index.json'), JSON.stringify(index));
      const rgb = { factors: Array.from({ length: 6 }, () => [0, 0, 0]), bias: [0, 0, 0] };
      await writeFile(path.join(d, 'preview/latent_rgb.json'), JSON.stringify(rgb));
    });
    expect(err.message).toMatch(/takes 4 latent channels but model_index\.json says latent_channels = 6/);
  });

  it('names bad JSON and bad keys', async () => {
    const bad = await loadError('badjson', {}, (d) => writeFile(path.join(d, 'scheduler/scheduler_config.json'), '{ nope'));
    expect(bad.message).toMatch(/scheduler\/scheduler_config\.json is not valid JSON/);
    const key = await loadError('badkey', {}, (d) => writeFile(path.join(d, 'model_index.json'), JSON.stringify({ animate: { latent_channels: 'four' } })));
    expect(key.message).toMatch(/model_index\.json: animate\.latent_channels: .*expected number/);
  });

  it('a corrupt ONNX file fails with a message naming the package', async () => {
    const err = await loadError('corrupt', {}, (d) => writeFile(path.join(d, 'vae_decoder/model.onnx'), Buffer.from('not a model')));
    expect(err.message).toMatch(/^model "fixture" is not usable: vae_decoder\/model\.onnx cannot be loaded by onnxruntime/);
    expect(err.message).not.toContain(dir); // the server's folder stays in the log (ModelInvalidError.detail)
  });

  it('the daemon skips a broken extra package, keeps serving the good one, and reports the broken one on request', async () => {
    const good = await buildFixturePackage(path.join(dir, 'served', 'good'));
    const broken = await buildFixturePackage(path.join(dir, 'served', 'broken'), { name: 'broken' });
    await writeFile(path.join(broken.dir, 'transformer/model.onnx'), Buffer.from('garbage'));
    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: path.join(dir, 'served'), defaultModel: 'fixture', logger: silentLogger });
    const client = connectAnimator(daemon.address);
    try {
      await expect(collect(client.generate({ prompt: 'a ball', steps: 1, model: 'broken' }))).rejects.toMatchObject({ code: 'MODEL_INVALID', status: 9 /* FAILED_PRECONDITION */ });
      const ok = await collect(client.generate({ prompt: 'a ball', steps: 1 }));
      expect(ok.at(-1)!.done!.model).toBe(good.options.name);
    } finally {
      client.close();
      await daemon.close();
    }
  });
});
