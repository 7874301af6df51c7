// training/export_wan.py on a tiny Wan2.2-layout model: the real weights cannot be downloaded here, so
// training/wan_tiny.py writes a diffusers folder with Wan2.2-TI2V-5B's layout (config keys, parameter names, sharded
// bf16 safetensors, transformer_2 + boundary_ratio), the script exports it, and this checks the package: files,
// model_index.json settings, ONNX names/ranks/dtypes, and onnxruntime's outputs against PyTorch's on fixed inputs.
// Needs Debian's /usr/bin/python3 with torch and onnx; skipped, with a note naming what is missing, without them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
    for (const rel of ['model_index.json', 'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'scheduler/scheduler_config.json', 'text_encoder/model.onnx', 'transformer/model.onnx', 'transformer_2/model.onnx']) {
      expect(existsSync(path.join(pkg('float32'), rel)), rel).toBe(true);
      expect(existsSync(path.join(pkg('float16'), rel)), rel).toBe(true);
    }
    for (const c of ['text_encoder', 'transformer', 'transformer_2']) {
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

  it('refuses weights that do not match their config, naming the folder and the keys', () => {
    const broken = path.join(dir, 'broken');
    py('wan_tiny.py', [broken]);
    const cfgPath = path.join(broken, 'transformer', 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), num_layers: 3 }));
    const r = py('export_wan.py', [broken, '--out', path.join(dir, 'pkg-broken')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${path.join(broken, 'transformer')}: weights do not match its config.json: missing ['blocks.2.`);
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
