// training/param_map.py, the export's half of the style contract: it finds each nn.Linear weight's ONNX initializer by
// value (a Gemm keeps the name and W; a MatMul on 3-D input holds Wᵀ in an anonymous onnx::MatMul_N) and writes
// transformer/parameter_map.json, which the daemon's merge reads (inference/model/lora/). Checked on a small torch
// module (both export paths, and two Linears with equal weights told apart by scope), read back here with the
// daemon's own initializer reader; then on tiny-world itself: its map, an adapter on its temporal attention, and a
// daemon serving the copy, whose styled clip differs from the base one and whose strength-0 clip does not.
// Needs Debian's /usr/bin/python3 with torch and onnx; skipped, with a note naming what is missing, without them.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../inference/log.ts';
import { indexInitializers, readInitializer } from '../../inference/model/lora/onnx-initializers.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { encodeSafetensors, type SafetensorsEntry } from '../fixtures/lora-fixture.ts';
import { clipBytes, collect } from '../helpers/fixture-daemon.ts';

const PYTHON = '/usr/bin/python3';
const TRAINING = path.resolve('training');
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' }) : undefined;
const hasTorch = probe?.status === 0;
if (!hasTorch) console.warn(`[tools/lora-param-map] skipped: ${PYTHON} cannot import torch and onnx (apt-get install python3-torch python3-onnx)`);
const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', TRAIN_THREADS: '1' };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lora-param-map-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function py(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', env, cwd: TRAINING });
  console.log(`[lora-param-map] python ${args[0] === '-c' ? '-c …' : args.join(' ')}: exit ${r.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SMALL = `
import json, sys, torch
from param_map import write_parameter_map
class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.to_q = torch.nn.Linear(4, 4)
        self.to_k = torch.nn.Linear(4, 3)
    def forward(self, x):
        return self.to_q(x).sum() + self.to_k(x).sum()
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(6, 4)
        self.blocks = torch.nn.ModuleList([Block(), Block()])
        self.unused = torch.nn.Linear(2, 2)
    def forward(self, flat, seq):
        return self.head(flat).sum() + sum(b(seq).sum() for b in self.blocks)
torch.manual_seed(0)
net = Net().eval()
with torch.no_grad():
    net.blocks[1].to_k.weight.copy_(net.blocks[0].to_k.weight)  # equal values: the export shares one initializer
    w = net.blocks[0].to_q.weight
    w.copy_(w + w.T)  # symmetric: equal to its transpose, only the reading MatMul gives the orientation
out = sys.argv[1]
torch.onnx.export(net, (torch.randn(2, 6), torch.randn(2, 5, 4)), out + "/model.onnx", opset_version=17, input_names=["flat", "seq"])
write_parameter_map(net, out)
json.dump({n: m.weight.detach().numpy().tolist() for n, m in net.named_modules() if isinstance(m, torch.nn.Linear)}, open(out + "/weights.json", "w"))
`;

describe.skipIf(!hasTorch)('training/param_map.py', () => {
  it('maps Gemm weights by name and MatMul weights transposed, orients a symmetric weight, leaves out shared and unused ones', () => {
    const out = path.join(tmp, 'small');
    mkdirSync(out);
    const r = py(['-c', SMALL, out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('parameter_map.json: 3 Linear weights (2 held transposed)');
    const left = r.stderr.split('\n').filter((l) => l.startsWith('parameter_map.json: left out')).map((l) => l.replace(/onnx::MatMul_\d+/, 'onnx::MatMul_N'));
    expect(left).toEqual([
      'parameter_map.json: left out unused.weight (no initializer holds it)',
      'parameter_map.json: left out blocks.0.to_k.weight (shares initializer onnx::MatMul_N)',
      'parameter_map.json: left out blocks.1.to_k.weight (shares initializer onnx::MatMul_N)',
    ]);
    const map = JSON.parse(readFileSync(path.join(out, 'parameter_map.json'), 'utf8')) as Record<string, { initializer: string; transposed: boolean }>;
    expect(Object.keys(map).sort()).toEqual(['blocks.0.to_q.weight', 'blocks.1.to_q.weight', 'head.weight']);
    expect(map['head.weight']).toEqual({ initializer: 'head.weight', transposed: false });
    expect(map['blocks.0.to_q.weight']!.transposed).toBe(true);
    // The daemon's reader finds the torch weight in each mapped initializer, transposed where the map says.
    const weights = JSON.parse(readFileSync(path.join(out, 'weights.json'), 'utf8')) as Record<string, number[][]>;
    const bytes = readFileSync(path.join(out, 'model.onnx'));
    const index = indexInitializers(bytes, 'model.onnx');
    for (const [param, target] of Object.entries(map)) {
      const w = weights[param.replace(/\.weight$/, '')]!;
      const values = readInitializer(bytes, index.byName.get(target.initializer)!, 'model.onnx');
      const [rows, cols] = [w.length, w[0]!.length];
      const want = target.transposed ? Array.from({ length: rows * cols }, (_, k) => w[k % rows]![Math.floor(k / rows)]!) : w.flat();
      expect(Array.from(values), param).toEqual(want.map(Math.fround));
    }
  });

  it('maps every Linear of tiny-world, and a style on its temporal attention changes the clip through a real daemon', async () => {
    const pkgDir = path.join(tmp, 'models', 'tiny-world');
    cpSync(path.resolve('models/tiny-world'), pkgDir, { recursive: true });
    rmSync(path.join(pkgDir, 'loras'), { recursive: true, force: true }); // the committed styles: this test writes its own
    const r = py(['param_map.py', '--package', pkgDir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/parameter_map\.json: 67 Linear weights \(62 held transposed\)/);
    const map = JSON.parse(readFileSync(path.join(pkgDir, 'transformer/parameter_map.json'), 'utf8')) as Record<string, { initializer: string; transposed: boolean }>;
    expect(map['blocks.0.attn_t.to_q.weight']).toEqual({ initializer: 'onnx::MatMul_2050', transposed: true });

    // A rank-2 adapter on every temporal attention query (to_q: 128 → 32), as train_lora.py would target.
    const modules = Object.keys(map).filter((p) => /attn_t\.to_q\.weight$/.test(p)).map((p) => p.replace(/\.weight$/, ''));
    const tensors: Record<string, SafetensorsEntry> = {};
    modules.forEach((m, i) => {
      tensors[`base_model.model.${m}.lora_A.weight`] = { dtype: 'F32', shape: [2, 128], values: Array.from({ length: 256 }, (_, k) => Math.sin(k + i) * 0.2) };
      tensors[`base_model.model.${m}.lora_B.weight`] = { dtype: 'F32', shape: [32, 2], values: Array.from({ length: 64 }, (_, k) => Math.cos(k * 3 + i) * 0.2) };
    });
    const lora = path.join(pkgDir, 'loras', 'pixel');
    mkdirSync(lora, { recursive: true });
    writeFileSync(path.join(lora, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['attn_t.to_q'] }));
    writeFileSync(path.join(lora, 'adapter_model.safetensors'), encodeSafetensors(tensors));
    const pkg = await readModelPackage(pkgDir);
    expect(pkg.styles[0]!.plan.targets.map((t) => [t.module, t.transposed, t.out, t.in])).toEqual(modules.map((m) => [m, true, 32, 128]));

    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: path.dirname(pkgDir), logger: silentLogger, threads: 1 });
    const client = connectAnimator(daemon.address);
    try {
      const req = { prompt: 'a red ball bouncing on the grass', seed: 3, steps: 2, frames: 5, width: 64, height: 64, preview: { disabled: true } };
      const t0 = performance.now();
      // The clips' last frames (PNG, from Done): the MP4 files differ anyway in their provenance tags (style=pixel).
      const lastFrame = async (r: typeof req & { style?: string; styleStrength?: number }) => {
        const events = await collect(client.generate(r));
        expect(clipBytes(events).length).toBeGreaterThan(0);
        return Buffer.from(events.at(-1)!.done!.lastFrame);
      };
      const base = await lastFrame(req);
      const styled = await lastFrame({ ...req, style: 'pixel' });
      const zero = await lastFrame({ ...req, style: 'pixel', styleStrength: 0 });
      console.log(`[lora-param-map] tiny-world: ${modules.length} modules styled; 3 clips in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(styled.equals(base)).toBe(false);
      expect(zero.equals(base)).toBe(true);
    } finally {
      client.close();
      await daemon.close({ graceMs: 0 });
    }
  }, 240_000);
});
