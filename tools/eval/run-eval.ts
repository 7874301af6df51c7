// npm run eval: generates the held-out prompts of training/world.json and scores prompt adherence with the analytic
// checks of checks.ts.
//
//   npm run eval                                   through the daemon (models/tiny-world, default settings)
//   npm run eval -- --truth                        the world's own renders of the same cases (validates the checks)
//   npm run eval -- --frames-dir DIR               clips written by training/sample.py (DIR/cases.json + .rgb)
//   npm run eval -- --help                         all options
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decimalFlag, integerFlag } from '../../inference/cli/flags.ts';
import { judgeClip, type Frames } from './checks.ts';
import { generateClip } from './generate.ts';
import { GOALS, score, table, type Scored } from './report.ts';
import { loadWorld, WORLD_FILE, type EvalCase } from './world.ts';

function readFramesDir(dir: string): Array<{ c: EvalCase; clip: Frames }> {
  const cases = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as Array<EvalCase & { file: string; frames: number; width: number; height: number }>;
  return cases.map((c) => {
    const raw = readFileSync(path.join(dir, c.file));
    const size = c.width * c.height * 3;
    const frames = Array.from({ length: c.frames }, (_, t) => new Uint8Array(raw.subarray(t * size, (t + 1) * size)));
    return { c, clip: { width: c.width, height: c.height, frames } };
  });
}

function saveClip(dir: string, k: number, c: EvalCase, clip: Frames): object {
  const file = `${k}.rgb`;
  writeFileSync(path.join(dir, file), Buffer.concat(clip.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))));
  return { ...c, file, frames: clip.frames.length, width: clip.width, height: clip.height };
}

const USAGE = `npm run eval -- [options]
Generates the held-out prompts of training/world.json and scores prompt adherence (colour, motion, shape, scene,
temporal consistency) with analytic checks on the pixels.

  --model DIR        model package to evaluate (default: the daemon's default, models/tiny-world)
  --steps N          denoising steps (default: the model's)
  --guidance G       classifier-free guidance scale (default: the model's)
  --scheduler NAME   solver: euler, unipc or dpm++ (default: the model's; the daemon rejects other names)
  --seeds K          seeds per prompt (default 1)
  --limit N          only the first N prompts (with --frames-dir: the first N clips of the folder)
  --save DIR         keep the generated clips (DIR/cases.json + .rgb), to re-score them with --frames-dir
  --frames-dir DIR   score clips written elsewhere (training/sample.py or --save) instead of generating
  --truth            score the world's own renders of the same cases (validates the checks)
  --json FILE        write every verdict as JSON
  --verbose          one line per clip with what each check saw
  --help             this text`;

async function main(): Promise<void> {
  let values: ReturnType<typeof parseOptions>['values'];
  let numbers: Parameters<typeof evaluate>[1];
  try {
    values = parseOptions().values;
    numbers = {
      steps: integerFlag('steps', values.steps, 1),
      guidance: decimalFlag('guidance', values.guidance),
      seeds: integerFlag('seeds', values.seeds, 1) ?? 1,
      limit: integerFlag('limit', values.limit, 1),
    };
  } catch (err) {
    console.error(`eval: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) console.log(USAGE);
  else await evaluate(values, numbers);
}

function parseOptions() {
  return parseArgs({
    options: {
      help: { type: 'boolean', default: false },
      truth: { type: 'boolean', default: false },
      'frames-dir': { type: 'string' },
      model: { type: 'string' },
      steps: { type: 'string' },
      guidance: { type: 'string' },
      scheduler: { type: 'string' },
      seeds: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'string' },
      save: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
}

async function evaluate(
  values: ReturnType<typeof parseOptions>['values'],
  numbers: { steps: number | undefined; guidance: number | undefined; seeds: number; limit: number | undefined },
): Promise<void> {
  const world = loadWorld(WORLD_FILE);
  const limit = numbers.limit ?? world.eval_cases.length;
  const cases = world.eval_cases.slice(0, limit);
  const results: Scored[] = [];
  const report = (r: Scored): void => {
    results.push(r);
    if (values.verbose) {
      const v = r.verdict;
      const mark = (ok: boolean, got: string | undefined): string => (ok ? 'ok' : `got ${got ?? 'nothing'}`);
      console.log(
        `${r.case.prompt}\n    colour ${r.case.colour}: ${mark(r.ok.colour, v.colour)} | shape ${r.case.shape}: ${mark(r.ok.shape, v.shape)} | ` +
          `motion ${r.case.motion}: ${mark(r.ok.motion, v.motion)} | scene ${r.case.scene}: ${mark(r.ok.scene, v.scene)} | ` +
          `presence ${(v.presence * 100).toFixed(0)}% flicker ${v.flicker.toFixed(1)} ${JSON.stringify(Object.fromEntries(Object.entries(v.features).map(([k, x]) => [k, Math.round(x * 100) / 100])))}`,
      );
    }
  };
  let source: string;
  if (values.truth || values['frames-dir']) {
    let dir = values['frames-dir'];
    let temp: string | undefined;
    if (!dir) {
      temp = mkdtempSync(path.join(os.tmpdir(), 'tiny-world-truth-'));
      dir = temp;
      execFileSync('/usr/bin/python3', [path.join(path.dirname(WORLD_FILE), 'sample.py'), '--truth', '--out', dir, '--limit', String(limit)], { stdio: 'ignore' });
    }
    // A saved folder holds every seed of every prompt: --limit counts its clips, and without it all are scored.
    for (const { c, clip } of readFramesDir(dir).slice(0, numbers.limit)) report(score(c, judgeClip(world, clip)));
    if (temp) rmSync(temp, { recursive: true, force: true });
    source = values.truth ? 'ground truth (world renders)' : `clips in ${dir}`;
  } else {
    const { seeds } = numbers;
    const saved: object[] = [];
    if (values.save) mkdirSync(values.save, { recursive: true });
    const t0 = performance.now();
    const { startDaemon } = await import('../../inference/server/daemon.ts');
    const modelDir = values.model ? path.resolve(values.model) : undefined;
    // A package is served under the name in its model_index.json.
    const modelName = modelDir ? (JSON.parse(readFileSync(path.join(modelDir, 'model_index.json'), 'utf8')) as { name?: string }).name : undefined;
    const daemon = await startDaemon({ listen: '127.0.0.1:0', ...(modelDir ? { modelDirs: [modelDir], ...(modelName ? { defaultModel: modelName } : {}) } : {}) });
    try {
      for (const c of cases) {
        for (let k = 0; k < seeds; k++) {
          const clip = await generateClip(daemon.address, {
            prompt: c.prompt,
            seed: c.seed + k,
            ...(numbers.steps !== undefined ? { steps: numbers.steps } : {}),
            ...(numbers.guidance !== undefined ? { guidanceScale: numbers.guidance } : {}),
            ...(values.scheduler !== undefined ? { scheduler: values.scheduler } : {}),
          });
          report(score(c, judgeClip(world, clip)));
          if (values.save) saved.push(saveClip(values.save, saved.length, c, clip));
        }
      }
      if (values.save) writeFileSync(path.join(values.save, 'cases.json'), JSON.stringify(saved, null, 1));
    } finally {
      await daemon.close();
    }
    source = `generated through the daemon in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  }
  console.log(table(results, `Held-out prompt adherence, ${source}`));
  if (values.json) writeFileSync(values.json, JSON.stringify(results.map((r) => ({ ...r.case, got: { ...r.verdict }, ok: r.ok })), null, 1));
  const rate = (k: keyof typeof GOALS): number => results.filter((r) => r.ok[k]).length / Math.max(1, results.length);
  const missed = (Object.keys(GOALS) as Array<keyof typeof GOALS>).filter((k) => rate(k) < GOALS[k]);
  if (missed.length) console.log(`below goal: ${missed.join(', ')}`);
}

await main();
