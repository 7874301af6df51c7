// training/train_lora.py end to end: a few steps on a tiny config (2 clips, 3 steps, rank 2) on a copy of tiny-world
// write a style adapter into the package in PEFT's format; the daemon's package reader plans its merge, the merged
// weight equals what train_lora.py's own LoRA layer computes (W + alpha/r · B·A, read back in PyTorch from the written
// files), and a real daemon lists the style and makes another clip with it. Needs Debian's /usr/bin/python3 with torch
// and onnx; skipped, with a note naming what is missing, without them.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../inference/log.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { applyMerge } from '../../inference/model/lora/merge.ts';
import { indexInitializers, readInitializer } from '../../inference/model/lora/onnx-initializers.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { clipBytes, collect } from '../helpers/fixture-daemon.ts';

const PYTHON = '/usr/bin/python3';
const TRAINING = path.resolve('training');
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' }) : undefined;
const hasTorch = probe?.status === 0;
if (!hasTorch) console.warn(`[tools/train-lora] skipped: ${PYTHON} cannot import torch and onnx (apt-get install python3-torch python3-onnx)`);
const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', TRAIN_THREADS: '1' };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'train-lora-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a training script without blocking the worker's event loop (vitest's own messages time out under a long spawnSync). */
async function py(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const t0 = performance.now();
  const child = spawn(PYTHON, args, { env, cwd: TRAINING });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  console.log(`[train-lora] python ${args[0] === '-c' ? '-c …' : args.join(' ')}: exit ${status} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { status, stdout, stderr };
}

// W' = W + scale · B·A for one module, as train_lora.py's LoRALinear computes its output (checked on an input), from
// the adapter files as written: what the daemon's merge must produce.
const MERGED = `
import json, sys, torch
from safetensors_io import load_file
from train_lora import LoRALinear, load_base, wrap_targets, TARGET_SETS
runs, adapter, module = sys.argv[1:4]
config = json.load(open(adapter + "/adapter_config.json"))
_, dit, _, _ = load_base(runs)
loras = wrap_targets(dit, TARGET_SETS["attention"], config["r"], config["lora_alpha"])
factors = load_file(adapter + "/adapter_model.safetensors")
m = loras[module]
m.lora_A.data.copy_(factors[f"base_model.model.{module}.lora_A.weight"])
m.lora_B.data.copy_(factors[f"base_model.model.{module}.lora_B.weight"])
merged = m.base.weight + m.scale * m.lora_B @ m.lora_A
x = torch.randn(3, m.base.in_features, generator=torch.Generator().manual_seed(0))
gap = float((m(x) - (x @ merged.t() + m.base.bias)).abs().max())
print(json.dumps({"scale": m.scale, "gap": gap, "delta": float((merged - m.base.weight).abs().max()), "merged": merged.detach().tolist()}))
`;

async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [fa, fb] = [await decodeFrames(a), await decodeFrames(b)];
  let sum = 0;
  let n = 0;
  fa.frames.forEach((frame, f) => frame.forEach((v, i) => ((sum += Math.abs(v - fb.frames[f]![i]!)), n++)));
  return sum / n;
}

describe.skipIf(!hasTorch)('training/train_lora.py', () => {
  it('trains a PEFT-format adapter on tiny-world that the daemon loads, merges as LoRALinear computes, and applies', async () => {
    const pkgDir = path.join(tmp, 'models', 'tiny-world');
    cpSync(path.resolve('models/tiny-world'), pkgDir, { recursive: true });
    rmSync(path.join(pkgDir, 'loras'), { recursive: true, force: true }); // the committed styles: this test writes its own
    if (!existsSync(path.join(pkgDir, 'transformer/parameter_map.json'))) {
      const m = await py(['param_map.py', '--package', pkgDir]);
      expect(m.status, m.stderr).toBe(0);
    }
    const runs = path.join(tmp, 'runs');
    const r = await py(['train_lora.py', '--style', 'neon', '--package', pkgDir, '--runs', runs, '--clips', '2', '--steps', '3', '--batch', '2', '--rank', '2', '--alpha', '4', '--targets', 'attention', '--lr', '0.05']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 neon clips of latents (16, 5, 16, 16)');
    expect(r.stdout).toContain('32 modules, r 2, alpha 4.0: 13,312 parameters');
    expect(r.stdout).toContain(`wrote ${path.join(pkgDir, 'loras', 'neon')} (32 modules, step 3`);

    const adapter = path.join(pkgDir, 'loras', 'neon');
    const config = JSON.parse(readFileSync(path.join(adapter, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 4, bias: 'none', use_dora: false, use_rslora: false, fan_in_fan_out: false, rank_pattern: {}, alpha_pattern: {} });
    const targets = config.target_modules as string[];
    expect(targets).toHaveLength(32);
    expect(targets.slice(0, 8)).toEqual(['blocks.0.attn1.to_k', 'blocks.0.attn1.to_out', 'blocks.0.attn1.to_q', 'blocks.0.attn1.to_v', 'blocks.0.attn_t.to_k', 'blocks.0.attn_t.to_out', 'blocks.0.attn_t.to_q', 'blocks.0.attn_t.to_v']);
    expect(JSON.parse(readFileSync(path.join(adapter, 'animate_style.json'), 'utf8'))).toEqual({
      description: 'neon: the shapes lit up and glowing on a dark scene',
      example_prompt: 'a pink heart grows in the sky',
    });

    // The daemon's reader: the style, its card, and a merge plan over all 32 modules (temporal q: 128 → 32, held transposed).
    const pkg = await readModelPackage(pkgDir);
    expect(pkg.styles.map((s) => s.name)).toEqual(['neon']);
    const plan = pkg.styles[0]!.plan;
    expect(plan.scale).toBe(2);
    expect(plan.targets).toHaveLength(32);
    const module = 'blocks.1.attn_t.to_v';
    const target = plan.targets.find((t) => t.module === module)!;
    expect([target.out, target.in, target.rank, target.transposed]).toEqual([32, 128, 2, true]);

    // Its merged weight against train_lora.py's LoRALinear on the same files.
    const p = await py(['-c', MERGED, runs, adapter, module]);
    expect(p.status, p.stderr).toBe(0);
    const torchSide = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as { scale: number; gap: number; delta: number; merged: number[][] };
    console.log(`[train-lora] ${module}: scale ${torchSide.scale}, largest |scale·B·A| ${torchSide.delta.toExponential(2)}, LoRALinear vs merged weight ${torchSide.gap.toExponential(1)}`);
    expect(torchSide.scale).toBe(2);
    expect(torchSide.gap).toBeLessThan(1e-5);
    expect(torchSide.delta).toBeGreaterThan(1e-4); // three steps at lr 0.05 moved B off zero
    const bytes = readFileSync(path.join(pkgDir, 'transformer/model.onnx'));
    const index = indexInitializers(bytes, 'transformer/model.onnx');
    const merged = applyMerge({ scale: plan.scale, targets: [target] }, 1, (name) => readInitializer(bytes, index.byName.get(name)!, 'transformer/model.onnx')).get(target.initializer)!;
    let worst = 0;
    for (let o = 0; o < 32; o++) for (let i = 0; i < 128; i++) worst = Math.max(worst, Math.abs(merged[i * 32 + o]! - torchSide.merged[o]![i]!));
    console.log(`[train-lora] daemon merge vs PyTorch: largest difference ${worst.toExponential(1)}`);
    expect(worst).toBeLessThan(1e-5);

    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: path.dirname(pkgDir), logger: silentLogger, threads: 1 });
    const client = connectAnimator(daemon.address);
    try {
      const listed = await client.listModels();
      expect(listed.models.find((m) => m.name === 'tiny-world')!.styles).toEqual([
        { name: 'neon', description: 'neon: the shapes lit up and glowing on a dark scene', examplePrompt: 'a pink heart grows in the sky' },
      ]);
      const req = { prompt: 'a red ball bouncing on the grass', seed: 3, steps: 3, frames: 5, width: 64, height: 64, preview: { disabled: true } };
      const base = clipBytes(await collect(client.generate(req)));
      const events = await collect(client.generate({ ...req, style: 'neon', styleStrength: 2 }));
      expect([events.at(-1)!.done!.style, events.at(-1)!.done!.styleStrength]).toEqual(['neon', 2]);
      const moved = await meanAbsDiff(base, clipBytes(events));
      console.log(`[train-lora] mean |neon@2 − base| over decoded frames: ${moved.toFixed(2)} of 255`);
      expect(moved).toBeGreaterThan(0.5);
    } finally {
      client.close();
      await daemon.close({ graceMs: 0 });
    }
  }, 600_000);
});
