// training/export_wan.py on a tiny Wan2.2-layout model: the real weights cannot be downloaded here, so
// training/wan_tiny.py writes a diffusers folder with Wan2.2-TI2V-5B's layout (config keys, parameter names, sharded
// bf16 safetensors, transformer_2 + boundary_ratio), the script exports it, and this checks the package: files,
// model_index.json settings, ONNX names/ranks/dtypes, and onnxruntime's outputs against PyTorch's on fixed inputs.
// The VAE: the whole-clip causal passes against diffusers' frame-by-frame loop (training/wan_vae_reference.py), and
// the exported packages served by a real daemon, where an image-to-video clip's first frame must be PyTorch's
// decode(encode(image)).
// Needs Debian's /usr/bin/python3 with torch and onnx; skipped, with a note naming what is missing, without them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pngImage as png } from '../helpers/test-images.ts';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../inference/log.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { decodeImageInput } from '../../inference/media/image-input.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';

const PYTHON = '/usr/bin/python3';
const TRAINING = path.resolve('training');
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' }) : undefined;
const hasTorch = probe?.status === 0;
if (!hasTorch) console.warn(`[tools/export-wan] skipped: ${PYTHON} cannot import torch and onnx (apt-get install python3-torch python3-onnx)${probe ? `: ${probe.stderr.trim().split('\n').pop()}` : ''}`);

const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
// One thread, OpenBLAS where Debian has it (training/README.md): the tests share two cores.
const env = { ...process.env, TRAIN_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', ...(existsSync(OPENBLAS) ? { LD_LIBRARY_PATH: `${OPENBLAS}${process.env.LD_LIBRARY_PATH ? `:${process.env.LD_LIBRARY_PATH}` : ''}` } : {}) };

function py(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(PYTHON, [path.join(TRAINING, script), ...args], { encoding: 'utf8', env, cwd: TRAINING });
  console.log(`[export-wan] ${script} ${args.join(' ')}: exit ${r.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function floatToHalf(v: number): number {
  // exact enough for test inputs (|v| < 1e4): round-to-nearest on the mantissa
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  if (e <= 0) return sign;
  const m = (x & 0x7fffff) + 0x1000;
  return m & 0x800000 ? sign | ((e + 1) << 10) : sign | (e << 10) | (m >>> 13);
}

interface Ref { tensors: Record<string, { dtype: string; shape: number[]; data: Float32Array | BigInt64Array }> }
function loadRef(dir: string, name: string): Ref {
  const index = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Record<string, { dtype: string; shape: number[] }>;
  const tensors: Ref['tensors'] = {};
  for (const [key, { dtype, shape }] of Object.entries(index)) {
    const buf = readFileSync(path.join(dir, `${name}.${key}.bin`));
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    tensors[key] = { dtype, shape, data: dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab) };
  }
  return { tensors };
}

/** Runs one exported graph on the reference inputs (float16 inputs converted) and returns output 0 as float32. */
async function runGraph(file: string, ref: Ref, inputs: string[]): Promise<{ out: Float32Array; session: ort.InferenceSession }> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of inputs) {
    const t = ref.tensors[name]!;
    const meta = session.inputMetadata.find((m) => m.name === name)!;
    const type = meta.isTensor ? meta.type : 'float32';
    if (t.data instanceof BigInt64Array) feeds[name] = new ort.Tensor('int64', t.data, t.shape);
    else if (type === 'float16') feeds[name] = new ort.Tensor('float16', Uint16Array.from(t.data, floatToHalf), t.shape);
    else feeds[name] = new ort.Tensor('float32', t.data, t.shape);
  }
  const result = await session.run(feeds);
  const o = result[session.outputNames[0]!]!;
  const out = o.type === 'float16' ? Float32Array.from(o.data as Uint16Array, halfToFloat) : (o.data as Float32Array);
  return { out, session };
}

/** max |a - b| relative to max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

function describeIo(session: ort.InferenceSession): string[] {
  return [...session.inputMetadata, ...session.outputMetadata].map((m) => (m.isTensor ? `${m.name}:${m.type}:${m.shape.length}` : m.name));
}


async function collect(stream: AsyncIterable<GenerateEvent__Output>): Promise<GenerateEvent__Output[]> {
  const events: GenerateEvent__Output[] = [];
  for await (const e of stream) events.push(e);
  return events;
}

describe.skipIf(!hasTorch)('training/export_wan.py on a tiny Wan2.2-layout model', () => {
  let dir: string;
  const src = () => path.join(dir, 'src');
  const pkg = (dtype: string) => path.join(dir, `pkg-${dtype}`);
  const refDir = (dtype: string) => path.join(dir, `ref-${dtype}`);

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'export-wan-'));
    const made = py('wan_tiny.py', [src(), '--transformer-2', '--shards', '2', '--weights-dtype', 'bfloat16']);
    expect(made.status, made.stderr).toBe(0);
    const e32 = py('export_wan.py', [src(), '--out', pkg('float32'), '--dtype', 'float32', '--check-dir', refDir('float32'), '--name', 'wan-tiny']);
    expect(e32.status, e32.stderr).toBe(0);
    const e16 = py('export_wan.py', [src(), '--out', pkg('float16'), '--dtype', 'float16', '--external-data', 'always', '--check-dir', refDir('float16')]);
    expect(e16.status, e16.stderr).toBe(0);
    expect(e16.stdout).toContain('transformer_2:');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the package files, with external data only where asked', () => {
    for (const rel of ['model_index.json', 'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'scheduler/scheduler_config.json', 'text_encoder/model.onnx', 'transformer/model.onnx', 'transformer_2/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx']) {
      expect(existsSync(path.join(pkg('float32'), rel)), rel).toBe(true);
      expect(existsSync(path.join(pkg('float16'), rel)), rel).toBe(true);
    }
    for (const c of ['text_encoder', 'transformer', 'transformer_2', 'vae_decoder', 'vae_encoder']) {
      expect(existsSync(path.join(pkg('float16'), c, 'model.onnx_data')), `${c} float16 external`).toBe(true);
      expect(existsSync(path.join(pkg('float32'), c, 'model.onnx_data')), `${c} float32 inline`).toBe(false);
    }
    const sched = JSON.parse(readFileSync(path.join(pkg('float16'), 'scheduler/scheduler_config.json'), 'utf8'));
    expect(sched).toMatchObject({ _class_name: 'UniPCMultistepScheduler', flow_shift: 5, use_flow_sigmas: true, prediction_type: 'flow_prediction' });
  });

  it('writes model_index.json with the Wan2.x settings of docs/model-package.md', () => {
    const index = JSON.parse(readFileSync(path.join(pkg('float32'), 'model_index.json'), 'utf8'));
    expect(index.name).toBe('wan-tiny');
    expect(JSON.parse(readFileSync(path.join(pkg('float16'), 'model_index.json'), 'utf8')).name).toBe('pkg-float16');
    expect(index.animate).toMatchObject({
      latent_channels: 6, vae_scale_factor_spatial: 16, vae_scale_factor_temporal: 4, max_text_length: 512, pad_token_id: 2,
      patch_size: [1, 2, 2], timestep_shape: 'tokens', zero_text_padding: true, guidance_passes: 1, boundary_ratio: 0.875,
      decoder_tiling: { tile: 16, overlap: 4 }, // diffusers' Wan VAE tiling: 256 px tiles sharing 64 px
    });
    expect(index.animate.latents_mean).toEqual([0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5]);
    expect(index.animate.latents_std).toEqual([1, 1.5, 2, 2.5, 3, 3.5]);
    expect(index.animate.limits.size_multiple).toBe(32); // 16x spatial VAE x 2x2 patches
    expect(index.animate.defaults).toMatchObject({ width: 1280, height: 704, frames: 121, fps: 24 });
    expect(index.transformer_2).toBeDefined();
  });

  for (const dtype of ['float32', 'float16'] as const) {
    // float16 runs the bf16-traced graph rewritten to float16 against PyTorch's float32 result
    const tol = dtype === 'float32' ? 1e-4 : 2e-2;
    for (const t of ['transformer', 'transformer_2'] as const) {
      it(`${dtype} ${t}: per-token timesteps, ${dtype} I/O, output equal to PyTorch's`, async () => {
        const ref = loadRef(refDir(dtype), t);
        expect(ref.tensors.timestep!.shape).toEqual([2, 2 * 2 * 3]);
        const { out, session } = await runGraph(path.join(pkg(dtype), t, 'model.onnx'), ref, ['hidden_states', 'timestep', 'encoder_hidden_states']);
        expect(describeIo(session)).toEqual([`hidden_states:${dtype}:5`, 'timestep:float32:2', `encoder_hidden_states:${dtype}:3`, `sample:${dtype}:5`]);
        const want = ref.tensors.sample!.data as Float32Array;
        expect(out.length).toBe(want.length);
        const err = relErr(out, want);
        console.log(`[export-wan] ${dtype} ${t}: max |onnx - torch| / max |torch| = ${err.toExponential(2)} (tolerance ${tol})`);
        expect(err).toBeLessThan(tol);
        await session.release();
      });
    }
    it(`${dtype} text_encoder: attention mask honoured, output equal to PyTorch's`, async () => {
      const ref = loadRef(refDir(dtype), 'text_encoder');
      const { out, session } = await runGraph(path.join(pkg(dtype), 'text_encoder', 'model.onnx'), ref, ['input_ids', 'attention_mask']);
      expect(describeIo(session)).toEqual(['input_ids:int64:2', 'attention_mask:int64:2', `last_hidden_state:${dtype}:3`]);
      const err = relErr(out, ref.tensors.last_hidden_state!.data as Float32Array);
      console.log(`[export-wan] ${dtype} text_encoder: max |onnx - torch| / max |torch| = ${err.toExponential(2)} (tolerance ${tol})`);
      expect(err).toBeLessThan(tol);
      // a longer sequence than traced: the graph is dynamic in the text length
      const ids = new BigInt64Array(2 * 20).fill(3n);
      const mask = new BigInt64Array(2 * 20).fill(1n);
      const r = await session.run({ input_ids: new ort.Tensor('int64', ids, [2, 20]), attention_mask: new ort.Tensor('int64', mask, [2, 20]) });
      expect(r.last_hidden_state!.dims).toEqual([2, 20, 16]);
      await session.release();
    });
  }

  for (const dtype of ['float32', 'float16'] as const) {
    // float16: inputs rounded to float16 at the edge, float32 inside (as diffusers runs the Wan VAE), output rounded
    const tol = dtype === 'float32' ? 1e-4 : 1e-2;
    const cases = [
      { graph: 'vae_decoder', ref: 'vae_decoder', input: 'latent_sample', output: 'sample', shape: [2, 3, 9, 32, 48] },
      { graph: 'vae_decoder', ref: 'vae_decoder_1', input: 'latent_sample', output: 'sample', shape: [1, 3, 1, 32, 48] },
      { graph: 'vae_encoder', ref: 'vae_encoder', input: 'sample', output: 'latent_sample', shape: [2, 6, 3, 2, 3] },
      { graph: 'vae_encoder', ref: 'vae_encoder_1', input: 'sample', output: 'latent_sample', shape: [1, 6, 1, 2, 3] },
    ];
    for (const c of cases) {
      it(`${dtype} ${c.ref}: ${c.input} -> ${c.output} [${c.shape.join(', ')}], equal to PyTorch's`, async () => {
        const ref = loadRef(refDir(dtype), c.ref);
        const { out, session } = await runGraph(path.join(pkg(dtype), c.graph, 'model.onnx'), ref, [c.input]);
        expect(describeIo(session)).toEqual([`${c.input}:${dtype}:5`, `${c.output}:${dtype}:5`]);
        expect(ref.tensors[c.output]!.shape).toEqual(c.shape);
        const want = ref.tensors[c.output]!.data as Float32Array;
        expect(out.length).toBe(want.length);
        const err = relErr(out, want);
        console.log(`[export-wan] ${dtype} ${c.ref}: max |onnx - torch| / max |torch| = ${err.toExponential(2)} (tolerance ${tol})`);
        expect(err).toBeLessThan(tol);
        await session.release();
      });
    }
  }

  it("the whole-clip VAE passes equal diffusers' frame-by-frame cached loop (tiny Wan2.2 and Wan2.1, and the package's weights)", () => {
    for (const args of [[], ['--vae', path.join(src(), 'vae')]]) {
      const r = py('wan_vae_reference.py', args);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as Record<string, Record<string, number | number[]>>;
      for (const [name, c] of Object.entries(report)) {
        console.log(`[export-wan] ${name} VAE vs frame-by-frame: decode ${c.decode_max_diff}, encode ${c.encode_max_diff}, first frame ${c.first_frame_max_diff}, image ${c.image_max_diff}`);
        const s = name === 'wan2.1' ? 8 : 16;
        // 3 latent frames -> 9 frames; 9 frames -> 3 latent frames; the first latent frame alone -> one frame
        expect(c.decode_shape).toEqual([1, 3, 9, 2 * s, 3 * s]);
        expect(c.first_frame_shape).toEqual([1, 3, 1, 2 * s, 3 * s]);
        expect((c.encode_shape as number[]).slice(2)).toEqual([3, 2, 3]);
        expect((c.image_shape as number[]).slice(2)).toEqual([1, 2, 3]);
        for (const k of ['decode_max_diff', 'encode_max_diff', 'first_frame_max_diff', 'image_max_diff', 'first_frame_equals_clip_frame_0']) expect(c[k], k).toBeLessThan(1e-5);
        expect(c.encode_scale).toBeGreaterThan(0.1); // not a trivially zero network
      }
    }
  });

  // The exported packages served by a real daemon on loopback: found through modelDirs, checked by the registry at
  // start-up (names, dtypes, ranks), and run end to end through Generate, text-to-video and image-to-video.
  describe('served by the daemon', () => {
    const requester = { userId: 'alice', channelId: 'c1', platform: 'DISCORD' as const, serverId: 'g1', displayName: 'Alice' };
    const request = (id: string, model: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
      prompt: 'a red ball bounces on the grass', model, seed: 11, steps: 2, frames: 5, width: 128, height: 128, requestId: id,
      requester, preview: { disabled: true }, formats: ['MP4'], ...extra,
    });

    it('both packages load, a text-to-video clip comes back at the asked size, and an image becomes the first frame', async () => {
      const t0 = performance.now();
      const daemon = await startDaemon({ listen: '127.0.0.1:0', modelDirs: [pkg('float32'), pkg('float16')], defaultModel: 'wan-tiny', logger: silentLogger, threads: 1 });
      const client = connectAnimator(daemon.address);
      try {
        console.log(`[export-wan] daemon up with both packages in ${(performance.now() - t0).toFixed(0)} ms`);
        const names = (await client.listModels()).models.map((m) => m.name);
        expect(names).toEqual(expect.arrayContaining(['wan-tiny', 'pkg-float16']));

        // image-to-video with one frame: the first latent frame decodes alone, so the clip (and Done.last_frame, a
        // lossless PNG) is decode(encode(image)) whatever the transformer did: PyTorch's frame-by-frame loop says what
        const image = png(128, 128, (x, y) => [40 + x, 200 - y, (x * y) % 256]);
        const fitted = await decodeImageInput(image, { width: 128, height: 128 });
        const rgbPath = path.join(dir, 'image.rgb');
        writeFileSync(rgbPath, fitted.rgb);
        const r = py('wan_vae_reference.py', ['--vae', path.join(src(), 'vae'), '--roundtrip', rgbPath, '128', '128']);
        expect(r.status, r.stderr).toBe(0);
        const want = new Uint8Array(readFileSync(`${rgbPath}.out`));
        for (const [model, maxLevels] of [['wan-tiny', 2], ['pkg-float16', 3]] as const) {
          const t1 = performance.now();
          const events = await collect(client.generate(request(`${model}-i2v`, model, { frames: 1, image, imageMimeType: 'image/png' })));
          const done = events.at(-1)!.done!;
          expect(done.model).toBe(model);
          const first = await decodeImageInput(done.lastFrame, { width: 128, height: 128 });
          expect(first.source).toMatchObject({ type: 'png', width: 128, height: 128 });
          let max = 0;
          let sum = 0;
          for (let i = 0; i < want.length; i++) {
            const d = Math.abs(first.rgb[i]! - want[i]!);
            max = Math.max(max, d);
            sum += d;
          }
          console.log(`[export-wan] ${model} image-to-video in ${(performance.now() - t1).toFixed(0)} ms: first frame vs PyTorch decode(encode(image)): max ${max}, mean ${(sum / want.length).toFixed(3)} levels`);
          expect(max).toBeLessThanOrEqual(maxLevels);

          // text-to-video: 5 frames (2 latent frames), 128x128, through the MP4 encoder; frames vary
          const t2 = performance.now();
          const clip = await collect(client.generate(request(`${model}-t2v`, model)));
          const video = await decodeFrames(Buffer.concat(clip.filter((e) => e.clip).map((e) => e.clip!.data)), 'mp4');
          console.log(`[export-wan] ${model} text-to-video 5 frames 128x128 in ${(performance.now() - t2).toFixed(0)} ms`);
          expect([video.width, video.height, video.frames.length]).toEqual([128, 128, 5]);
          const f0 = video.frames[0]!;
          const spread = Math.max(...f0) - Math.min(...f0);
          expect(spread).toBeGreaterThan(20); // not a constant frame
          // the clip differs from the image-conditioned one's first frame: the image went in only when given
          let diff = 0;
          for (let i = 0; i < want.length; i++) diff += Math.abs(f0[i]! - want[i]!);
          expect(diff / want.length).toBeGreaterThan(5);
        }
      } finally {
        client.close();
        await daemon.close({ graceMs: 0 });
      }
    }, 300_000);
  });

  it('refuses weights that do not match their config, naming the folder and the keys', () => {
    const broken = path.join(dir, 'broken');
    py('wan_tiny.py', [broken]);
    const cfgPath = path.join(broken, 'transformer', 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), num_layers: 3 }));
    const r = py('export_wan.py', [broken, '--out', path.join(dir, 'pkg-broken')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${path.join(broken, 'transformer')}: weights do not match its config.json: missing ['blocks.2.`);
  });

  it('refuses a VAE config whose factors disagree with its network, naming the file and the field', () => {
    const src3 = path.join(dir, 'bad-vae');
    py('wan_tiny.py', [src3]);
    const p = path.join(src3, 'vae', 'config.json');
    writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), scale_factor_spatial: 8 }));
    const r = py('export_wan.py', [src3, '--out', path.join(dir, 'pkg-bad-vae')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${path.join(src3, 'vae')}/config.json: scale_factor_spatial is 8, but the network it describes (temperal_downsample, dim_mult, patch_size) scales by 16`);
  });

  it('refuses a transformer_2 without boundary_ratio, naming model_index.json', () => {
    const src2 = path.join(dir, 'no-boundary');
    py('wan_tiny.py', [src2, '--transformer-2']);
    const p = path.join(src2, 'model_index.json');
    writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), boundary_ratio: null }));
    const r = py('export_wan.py', [src2, '--out', path.join(dir, 'pkg-nb')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('model_index.json: transformer_2 is present but boundary_ratio is not set');
  });
});
