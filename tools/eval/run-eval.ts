// npm run eval: generates the held-out prompts of training/world.json and scores prompt adherence with the analytic
// checks of checks.ts; through the daemon it then generates the same prompts and seeds again with the world's
// rendering of each prompt's first frame attached (image-to-video) and prints the two side by side.
//
//   npm run eval                                   through the daemon (models/tiny-world, default settings)
//   npm run eval -- --truth                        the world's own renders of the same cases (validates the checks)
//   npm run eval -- --frames-dir DIR               clips written by training/sample.py (DIR/cases.json + .rgb)
//   npm run eval -- --help                         all options
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decimalFlag, integerFlag } from '../../inference/cli/flags.ts';
import { judgeClip } from './checks.ts';
import { readFramesDir, renderTruth, saveClip } from './frames-dir.ts';
import { generateClip } from './generate.ts';
import { firstFrame, imageClip } from './image-clips.ts';
import { compareImageToVideo, DEFAULT_DROP_TOLERANCE, imageToVideoTable, PSNR_GOAL_DB, type ImageClip } from './image-to-video.ts';
import { GOALS, score, table, type Scored } from './report.ts';
import { loadWorld, WORLD_FILE } from './world.ts';

const USAGE = `npm run eval -- [options]
Generates the held-out prompts of training/world.json and scores prompt adherence (colour, motion, shape, scene,
temporal consistency) with analytic checks on the pixels. Through the daemon it also generates every prompt and seed
again from the world's rendering of its first frame (image-to-video) and prints both side by side: the clip's first
frame against the image (PSNR, ≥ ${PSNR_GOAL_DB} dB in every clip) and colour and motion adherence (no drop beyond the tolerance).

  --model DIR        model package to evaluate (default: the daemon's default, models/tiny-world)
  --steps N          denoising steps (default: the model's)
  --guidance G       classifier-free guidance scale (default: the model's)
  --scheduler NAME   solver: euler, unipc or dpm++ (default: the model's; the daemon rejects other names)
  --seeds K          seeds per prompt (default 1)
  --limit N          only the first N prompts (with --frames-dir: the first N clips of the folder)
  --text-only        skip the image-to-video table (a package without a vae_encoder/ gets the same)
  --drop-tolerance X largest fall of the colour or motion rate that still counts as no drop (default ${DEFAULT_DROP_TOLERANCE})
  --save DIR         keep the generated clips (DIR/cases.json + .rgb, image-to-video ones in DIR/image/), to re-score
                     them with --frames-dir
  --frames-dir DIR   score clips written elsewhere (training/sample.py or --save) instead of generating
  --truth            score the world's own renders of the same cases (validates the checks)
  --json FILE        write every verdict as JSON (each with "mode": text-to-video or image-to-video; the latter with
                     its first-frame PSNR)
  --report FILE      write the printed tables (markdown) to FILE as well
  --verbose          one line per clip with what each check saw
  --help             this text`;

async function main(): Promise<void> {
  let values: ReturnType<typeof parseOptions>['values'];
  let numbers: Numbers;
  try {
    values = parseOptions().values;
    const tolerance = decimalFlag('drop-tolerance', values['drop-tolerance']) ?? DEFAULT_DROP_TOLERANCE;
    if (tolerance < 0 || tolerance >= 1) throw new Error(`--drop-tolerance must be at least 0 and below 1, got "${values['drop-tolerance']}"`);
    numbers = {
      steps: integerFlag('steps', values.steps, 1),
      guidance: decimalFlag('guidance', values.guidance),
      seeds: integerFlag('seeds', values.seeds, 1) ?? 1,
      limit: integerFlag('limit', values.limit, 1),
      tolerance,
    };
  } catch (err) {
    console.error(`eval: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) console.log(USAGE);
  else await evaluate(values, numbers);
}

interface Numbers {
  steps: number | undefined;
  guidance: number | undefined;
  seeds: number;
  limit: number | undefined;
  tolerance: number;
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
      'text-only': { type: 'boolean', default: false },
      'drop-tolerance': { type: 'string' },
      json: { type: 'string' },
      report: { type: 'string' },
      save: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
}

type Values = ReturnType<typeof parseOptions>['values'];

function verboseLine(r: Scored, extra = ''): string {
  const v = r.verdict;
  const mark = (ok: boolean, got: string | undefined): string => (ok ? 'ok' : `got ${got ?? 'nothing'}`);
  return (
    `${r.case.prompt}${extra}\n    colour ${r.case.colour}: ${mark(r.ok.colour, v.colour)} | shape ${r.case.shape}: ${mark(r.ok.shape, v.shape)} | ` +
    `motion ${r.case.motion}: ${mark(r.ok.motion, v.motion)} | scene ${r.case.scene}: ${mark(r.ok.scene, v.scene)} | ` +
    `presence ${(v.presence * 100).toFixed(0)}% flicker ${v.flicker.toFixed(1)} ${JSON.stringify(Object.fromEntries(Object.entries(v.features).map(([k, x]) => [k, Math.round(x * 100) / 100])))}`
  );
}

/**
 * Whether the package (by folder, or the daemon's default, models/tiny-world) has an image encoder: the daemon
 * refuses an image for a package without one, so the eval says so instead of failing every request.
 */
function hasEncoder(modelDir: string | undefined): boolean {
  const dir = modelDir ?? path.resolve(path.dirname(WORLD_FILE), '../models/tiny-world');
  return existsSync(path.join(dir, 'vae_encoder'));
}

async function evaluate(values: Values, numbers: Numbers): Promise<void> {
  const world = loadWorld(WORLD_FILE);
  const limit = numbers.limit ?? world.eval_cases.length;
  const cases = world.eval_cases.slice(0, limit);
  const results: Scored[] = [];
  const imageResults: ImageClip[] = [];
  const report = (r: Scored): void => {
    results.push(r);
    if (values.verbose) console.log(verboseLine(r));
  };
  let source: string;
  let imageNote: string | undefined;
  if (values.truth || values['frames-dir']) {
    if (values['frames-dir']) {
      // A saved folder holds every seed of every prompt: --limit counts its clips, and without it all are scored.
      for (const { c, clip } of readFramesDir(values['frames-dir']).slice(0, numbers.limit)) report(score(c, judgeClip(world, clip)));
    } else {
      for (const { c, clip } of renderTruth(limit)) report(score(c, judgeClip(world, clip)));
    }
    source = values.truth ? 'ground truth (world renders)' : `clips in ${values['frames-dir']}`;
    imageNote = 'image-to-video: not run (it needs generation through the daemon)';
  } else {
    const { seeds } = numbers;
    const modelDir = values.model ? path.resolve(values.model) : undefined;
    const withImages = !values['text-only'] && hasEncoder(modelDir);
    if (!values['text-only'] && !withImages) imageNote = 'image-to-video: not run (the package has no vae_encoder/)';
    const saved: object[] = [];
    const savedImage: object[] = [];
    if (values.save) mkdirSync(path.join(values.save, withImages ? 'image' : ''), { recursive: true });
    // The world's first frames of the same cases, rendered once (sample.py --truth): the images attached.
    const firstFrames = withImages
      ? renderTruth(limit).map(({ c, clip }, i) => {
          if (c.prompt !== cases[i]?.prompt) throw new Error(`sample.py --truth wrote "${c.prompt}" as case ${i}, the eval expected "${cases[i]?.prompt}"`);
          return firstFrame(clip);
        })
      : [];
    const t0 = performance.now();
    const { startDaemon } = await import('../../inference/server/daemon.ts');
    // A package is served under the name in its model_index.json.
    const modelName = modelDir ? (JSON.parse(readFileSync(path.join(modelDir, 'model_index.json'), 'utf8')) as { name?: string }).name : undefined;
    const daemon = await startDaemon({ listen: '127.0.0.1:0', ...(modelDir ? { modelDirs: [modelDir], ...(modelName ? { defaultModel: modelName } : {}) } : {}) });
    let imageSeconds = 0;
    try {
      for (const [i, c] of cases.entries()) {
        for (let k = 0; k < seeds; k++) {
          const generate = {
            seed: c.seed + k,
            ...(numbers.steps !== undefined ? { steps: numbers.steps } : {}),
            ...(numbers.guidance !== undefined ? { guidanceScale: numbers.guidance } : {}),
            ...(values.scheduler !== undefined ? { scheduler: values.scheduler } : {}),
          };
          const clip = await generateClip(daemon.address, { prompt: c.prompt, ...generate });
          report(score(c, judgeClip(world, clip)));
          if (values.save) saved.push(saveClip(values.save, saved.length, c, clip));
          if (!withImages) continue;
          const t1 = performance.now();
          const made = await imageClip({ address: daemon.address, world, case: c, image: firstFrames[i]!, textClip: clip, generate });
          imageSeconds += (performance.now() - t1) / 1000;
          imageResults.push(made.measured);
          if (values.verbose) console.log(verboseLine(made.measured.scored, ` [image-to-video, first frame ${made.measured.psnr.toFixed(1)} dB]`));
          if (values.save) savedImage.push(saveClip(path.join(values.save, 'image'), savedImage.length, c, made.clip));
        }
      }
      if (values.save) writeFileSync(path.join(values.save, 'cases.json'), JSON.stringify(saved, null, 1));
      if (values.save && withImages) writeFileSync(path.join(values.save, 'image', 'cases.json'), JSON.stringify(savedImage, null, 1));
    } finally {
      await daemon.close();
    }
    const total = (performance.now() - t0) / 1000;
    source = `generated through the daemon in ${(total - imageSeconds).toFixed(0)} s`;
    if (withImages) {
      const comparison = compareImageToVideo(results, imageResults, numbers.tolerance);
      imageNote = imageToVideoTable(comparison, `Image-to-video on the same prompts and seeds, from the world's first frame, generated in ${imageSeconds.toFixed(0)} s`);
    }
  }
  const printed = [table(results, `Held-out prompt adherence, ${source}`)];
  const rate = (k: keyof typeof GOALS): number => results.filter((r) => r.ok[k]).length / Math.max(1, results.length);
  const missed = (Object.keys(GOALS) as Array<keyof typeof GOALS>).filter((k) => rate(k) < GOALS[k]);
  if (missed.length) printed.push(`below goal: ${missed.join(', ')}`);
  if (imageNote) printed.push('', imageNote);
  const text = printed.join('\n');
  console.log(text);
  if (values.report) writeFileSync(values.report, `${text}\n`);
  if (values.json) {
    const entry = (r: Scored, mode: string): object => ({ mode, ...r.case, got: { ...r.verdict }, ok: r.ok });
    const all = [
      ...results.map((r) => entry(r, 'text-to-video')),
      ...imageResults.map((m) => ({ ...entry(m.scored, 'image-to-video'), psnr: m.psnr, textPsnr: m.textPsnr, codecPsnr: m.codecPsnr })),
    ];
    writeFileSync(values.json, JSON.stringify(all, null, 1));
  }
}

await main();
