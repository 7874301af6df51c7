// The model registry at start-up, on a real daemon with real fixture packages and real onnxruntime: every package's
// ONNX files are checked (a broken one is logged with its folder and cause and left out of ListModels; asking for it
// gets FAILED_PRECONDITION by name, no server path), and two folders with one name do not collide silently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { collect, collectSettled } from '../helpers/fixture-daemon.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { toServiceError } from '../../inference/server/animator-service.ts';
import { ModelInvalidError, InferenceFailedError, EncodeFailedError } from '../../inference/errors.ts';
import type { DaemonLogger } from '../../inference/log.ts';
import { redactServerDetail, relativeToFolder } from '../../shared/redact.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';

interface Record_ {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps what it is told, to check what operators read. */
function recordingLogger(): DaemonLogger & { records: Record_[] } {
  const records: Record_[] = [];
  const at = (level: Record_['level']) => (msg: string, fields: Record<string, unknown> = {}) => void records.push({ level, msg, fields });
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'animate-registry-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Keeps the first `keep` bytes of a file: a download cut short. */
async function truncate(file: string, keep: number): Promise<void> {
  const bytes = await readFile(file);
  expect(bytes.length).toBeGreaterThan(keep);
  await writeFile(file, bytes.subarray(0, keep));
}

describe('every package is checked at start-up', () => {
  let modelsDir: string;
  let daemon: RunningDaemon;
  let client: AnimatorConnection;
  const log = recordingLogger();

  beforeAll(async () => {
    modelsDir = path.join(root, 'checked');
    await buildFixturePackage(path.join(modelsDir, 'fixture'));
    await buildFixturePackage(path.join(modelsDir, 'second'), { name: 'second', alpha: 0.25 });
    const truncated = await buildFixturePackage(path.join(modelsDir, 'truncated'), { name: 'truncated' });
    await truncate(path.join(truncated.dir, 'transformer/model.onnx'), 40);
    const garbage = await buildFixturePackage(path.join(modelsDir, 'garbage'), { name: 'garbage' });
    await writeFile(path.join(garbage.dir, 'vae_decoder/model.onnx'), Buffer.from('definitely not an onnx graph'));
    // Loads fine in onnxruntime, but its denoiser's inputs break the package contract.
    await buildFixturePackage(path.join(modelsDir, 'contract'), { name: 'contract', renameTransformerInput: { from: 'timestep', to: 't' } });
    daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: log });
    client = connectAnimator(daemon.address);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await daemon?.close({ graceMs: 0 });
  });

  it('ListModels lists only the packages that load: the default first, then the healthy extra one', async () => {
    const res = await client.listModels();
    expect(res.models.map((m) => m.name)).toEqual(['fixture', 'second']);
    expect(res.defaultModel).toBe('fixture');
    expect(daemon.models.names()).toEqual(['fixture', 'second']);
  });

  it('the log names each broken package with its folder and the reason', () => {
    const leftOut = log.records.filter((r) => r.msg.startsWith('model package left out'));
    expect(leftOut.map((r) => r.fields.model).sort()).toEqual(['contract', 'garbage', 'truncated']);
    for (const r of leftOut) {
      expect(r.level).toBe('warn');
      expect(r.fields.dir).toBe(path.join(modelsDir, String(r.fields.model)));
    }
    const problem = (name: string) => String(leftOut.find((r) => r.fields.model === name)!.fields.problem);
    expect(problem('truncated')).toMatch(/^transformer\/model\.onnx cannot be loaded by onnxruntime \(.+\)$/);
    expect(problem('garbage')).toMatch(/^vae_decoder\/model\.onnx cannot be loaded by onnxruntime \(.+\)$/);
    // The full cause stays in the log: onnxruntime's own message, which names the absolute file.
    expect(problem('garbage')).toContain(path.join(modelsDir, 'garbage', 'vae_decoder', 'model.onnx'));
    expect(problem('contract')).toBe('transformer/model.onnx has an unexpected input "t"; its inputs must be hidden_states, timestep, encoder_hidden_states');
  });

  it('a request for a left-out package gets FAILED_PRECONDITION naming the model and the file, with no server path', async () => {
    for (const [name, file] of [['truncated', 'transformer/model.onnx'], ['garbage', 'vae_decoder/model.onnx'], ['contract', 'transformer/model.onnx']] as const) {
      const { events, error } = await collectSettled(client.generate({ prompt: 'a ball', steps: 1, model: name }));
      expect(events).toEqual([]);
      expect(error?.code).toBe(9); // FAILED_PRECONDITION
      expect(error?.details.startsWith(`model "${name}" is not usable: ${file} `)).toBe(true);
      expect(error?.details).not.toContain(root);
      expect(error?.details).not.toContain(os.tmpdir());
      expect(error?.details).not.toMatch(/\n\s+at /);
      expect(error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual([DaemonErrorCode.ModelInvalid]);
    }
  });

  it('the healthy extra package, whose check sessions were released, loads again and generates', async () => {
    const events = await collect(client.generate({ prompt: 'a red ball', steps: 1, model: 'second' }));
    expect(events.at(-1)?.done?.model).toBe('second');
    const def = await collect(client.generate({ prompt: 'a red ball', steps: 1 }));
    expect(def.at(-1)?.done?.model).toBe('fixture');
  });

  it('an unknown model is still NOT_FOUND, listing only the usable models', async () => {
    const { error } = await collectSettled(client.generate({ prompt: 'a ball', steps: 1, model: 'nope' }));
    expect(error?.code).toBe(5);
    expect(error?.details).toBe('model "nope" is not served here; known models: fixture, second');
  });
});

describe('a broken default model stops start-up', () => {
  it('with a message by name for the operator and the folder in the log', async () => {
    const modelsDir = path.join(root, 'broken-default');
    const pkg = await buildFixturePackage(path.join(modelsDir, 'only'), { name: 'only' });
    await truncate(path.join(pkg.dir, 'text_encoder/model.onnx'), 25);
    const log = recordingLogger();
    const err = await startDaemon({ listen: '127.0.0.1:0', modelsDir, logger: log }).then(
      (d) => d.close().then(() => new Error('started')),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ModelInvalidError);
    expect(err.message).toMatch(/^model "only" is not usable: text_encoder\/model\.onnx cannot be loaded by onnxruntime/);
    expect(err.message).not.toContain(modelsDir);
    expect((err as ModelInvalidError).detail).toContain(pkg.dir);
    const logged = log.records.find((r) => r.msg === 'model could not be loaded');
    expect(logged?.fields).toMatchObject({ model: 'only', dir: pkg.dir });
  }, 60_000);
});

describe('two folders with one name', () => {
  it('the second folder is refused with a warning naming both; the first stays served', async () => {
    const modelsDir = path.join(root, 'dup-models');
    const extra = path.join(root, 'dup-extra', 'mine');
    // Same name "dup" three times, told apart by their hashes: the extra folder (modelDirs) comes first, then the models
    // folder's packages by folder name ("a-dup" before "b-dup").
    const first = await buildFixturePackage(extra, { name: 'dup', alpha: 0.1 });
    await buildFixturePackage(path.join(modelsDir, 'a-dup'), { name: 'dup', alpha: 0.2 });
    await buildFixturePackage(path.join(modelsDir, 'b-dup'), { name: 'dup', alpha: 0.3 });
    await buildFixturePackage(path.join(modelsDir, 'other'), { name: 'other' });
    const log = recordingLogger();
    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, modelDirs: [extra], defaultModel: 'dup', logger: log });
    const client = connectAnimator(daemon.address);
    try {
      const res = await client.listModels();
      expect(res.models.map((m) => m.name)).toEqual(['dup', 'other']);
      const served = daemon.models.package('dup');
      expect(served.dir).toBe(first.dir);
      expect(res.models[0]!.hash).toBe(served.hash);
      const refused = log.records.filter((r) => r.msg.startsWith('model package refused'));
      expect(refused.map((r) => ({ level: r.level, ...r.fields }))).toEqual([
        { level: 'warn', model: 'dup', refused: path.join(modelsDir, 'a-dup'), kept: first.dir },
        { level: 'warn', model: 'dup', refused: path.join(modelsDir, 'b-dup'), kept: first.dir },
      ]);
      const events = await collect(client.generate({ prompt: 'a ball', steps: 1, model: 'dup' }));
      expect(events.at(-1)?.done?.model).toBe('dup');
    } finally {
      client.close();
      await daemon.close({ graceMs: 0 });
    }
  }, 120_000);

  it('one folder reached twice (an extra folder inside the models folder) is one package, not a collision', async () => {
    const modelsDir = path.join(root, 'same-folder');
    const pkg = await buildFixturePackage(path.join(modelsDir, 'fixture'));
    const log = recordingLogger();
    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, modelDirs: [pkg.dir], logger: log });
    try {
      expect(daemon.models.names()).toEqual(['fixture']);
      expect(log.records.filter((r) => r.level === 'warn')).toEqual([]);
    } finally {
      await daemon.close({ graceMs: 0 });
    }
  }, 60_000);

  it('no package at all is a start-up error naming the folder', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty, { recursive: true });
    await expect(startDaemon({ listen: '127.0.0.1:0', modelsDir: empty, logger: recordingLogger() })).rejects.toThrow(
      `modelsDir: no model package was found in ${empty} (a package is a folder with model_index.json; set ANIMATE_MODELS_DIR / --models-dir)`,
    );
  });
});

describe('no server path or stack trace reaches a client', () => {
  it('ModelInvalidError: the message is by name and relative; detail keeps the folder and the raw problem', () => {
    const dir = '/srv/animate/models/wan-5b';
    const err = new ModelInvalidError(dir, `vae_decoder/model.onnx cannot be loaded by onnxruntime (Load model from ${dir}/vae_decoder/model.onnx failed:Protobuf parsing failed.)`, { name: 'wan' });
    expect(err.message).toBe('model "wan" is not usable: vae_decoder/model.onnx cannot be loaded by onnxruntime (Load model from vae_decoder/model.onnx failed:Protobuf parsing failed.)');
    expect(err.detail).toBe(`model package ${dir} ("wan") is not usable: vae_decoder/model.onnx cannot be loaded by onnxruntime (Load model from ${dir}/vae_decoder/model.onnx failed:Protobuf parsing failed.)`);
    expect(new ModelInvalidError(dir, 'the folder does not exist').message).toBe('model "wan-5b" is not usable: the folder does not exist');
    expect(new ModelInvalidError(dir, `cannot read ${dir}`).message).toBe('model "wan-5b" is not usable: cannot read the package folder');
    expect(err.named('other').message).toMatch(/^model "other" is not usable: vae_decoder\/model\.onnx/);
  });

  it('redactServerDetail cuts absolute paths to their last part and drops stack frames, leaving URLs and ratios', () => {
    expect(redactServerDetail("ENOENT: no such file or directory, open '/home/ann/.cache/animate/tmp-1/clip.mp4'")).toBe("ENOENT: no such file or directory, open '…/clip.mp4'");
    expect(redactServerDetail('failed at file:///opt/app/inference/x.ts:12:3')).toBe('failed');
    expect(redactServerDetail('C:\\Users\\ann\\models\\m.onnx is missing')).toBe('…/m.onnx is missing');
    expect(redactServerDetail('Error: boom\n    at run (/opt/app/a.js:1:2)\n    at next (node:internal/x:3:4)')).toBe('Error: boom');
    const plain = 'aspect 16:9 at 1/2 speed, see https://example.com/docs/a/b and cond/uncond; /animate a ball';
    expect(redactServerDetail(plain)).toBe(plain);
    expect(relativeToFolder('/m/pkg/unet/model.onnx and /m/pkgs/x/y', '/m/pkg')).toBe('unet/model.onnx and …/y');
  });

  it('toServiceError applies it to every DaemonError built from server-side text', () => {
    const cases = [
      new InferenceFailedError('Non-zero status code returned while running MatMul node. /opt/models/x/transformer/model.onnx'),
      new EncodeFailedError("encoding the MP4 failed: ffmpeg exited 1\nffmpeg said:\n  /tmp/animate-enc-123/out.mp4: No space left on device"),
    ];
    const details = cases.map((e) => toServiceError(e).details);
    expect(details).toEqual([
      'Non-zero status code returned while running MatMul node. …/model.onnx',
      'encoding the MP4 failed: ffmpeg exited 1\nffmpeg said:\n  …/out.mp4: No space left on device',
    ]);
  });

  it('redaction stays linear on a long hostile message', () => {
    const hostile = `${'/a'.repeat(200_000)} ${'/'.repeat(200_000)} /${'b'.repeat(200_000)}`;
    const started = performance.now();
    redactServerDetail(hostile);
    // Generous: a linear pass takes a few ms; catastrophic backtracking would take minutes.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
