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
import { baseStyledClip, chooseStyles, styledClips } from './style-clips.ts';
import { compareStyles, styleTable, type StyledClip } from './styles.ts';
import { firstFrame, imageClip } from './image-clips.ts';
import { compareImageToVideo, DEFAULT_DROP_TOLERANCE, imageToVideoTable, PSNR_GOAL_DB, type ImageClip } from './image-to-video.ts';
import { GOALS, score, table, type Scored } from './report.ts';
import { loadWorld, WORLD_FILE } from './world.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { sizeForAspect } from '../../shared/wire/model-limits.ts';

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
  --aspect W:H[,W:H] frame shape(s), e.g. 1:1,16:9,9:16: each is generated in turn on the same prompts and seeds and a
                     side-by-side table closes the report; the size is the daemon's for that aspect (the default pixel
                     area on the model's size grid), sent as width and height so an aspect the package does not list
                     yet can be measured (default: the model's default size; a non-square one implies --text-only)
  --limit N          only the first N prompts (with --frames-dir: the first N clips of the folder)
  --text-only        skip the image-to-video table (a package without a vae_encoder/ gets the same)
  --styles LIST      styles to generate every prompt and seed with, for the style table (look checks, colour and
                     motion against the base model), e.g. neon,chalk; "none" skips it (default: every style of the
                     model that has a look check; at the default aspect only)
  --drop-tolerance X largest fall of the colour or motion rate that still counts as no drop (default ${DEFAULT_DROP_TOLERANCE})
  --save DIR         keep the generated clips (DIR/cases.json + .rgb, image-to-video ones in DIR/image/), to re-score
                     them with --frames-dir
  --frames-dir DIR   score clips written elsewhere (training/sample.py or --save) instead of generating
  --truth            score the world's own renders of the same cases (validates the checks)
  --json FILE        write every verdict as JSON (each with "mode": text-to-video or image-to-video; the latter with
                     its first-frame PSNR)
  --report FILE      write the printed tables (markdown) to FILE as well
  --verbose          one line per clip with what each check saw (styled clips too, with their look check)
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
      aspects: parseAspects(values.aspect),
    };
    if (numbers.aspects.length > 1 && (values.truth || values['frames-dir'] || values.save || values.json))
      throw new Error('--aspect with several aspects generates through the daemon: it cannot be combined with --truth, --frames-dir, --save or --json');
  } catch (err) {
    console.error(`eval: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) console.log(USAGE);
  else if (numbers.aspects.length === 0) await evaluate(values, numbers, undefined);
  else {
    // One pass per aspect, same prompts, seeds, steps and guidance; the summary compares them row by row.
    const rows: AspectRow[] = [];
    // Each pass appends its tables to --report, the summary closes it.
    if (values.report) writeFileSync(values.report, '');
    for (const aspect of numbers.aspects) rows.push(await evaluate(values, numbers, aspect));
    const text = aspectTable(rows);
    console.log(`\n${text}`);
    if (values.report) writeFileSync(values.report, `\n${text}\n`, { flag: 'a' });
  }
}

/** "16:9,9:16" → ['16:9', '9:16']; each W:H with positive integers. */
function parseAspects(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const list = raw.split(',').map((a) => a.trim());
  for (const a of list) {
    const m = /^(\d+):(\d+)$/.exec(a);
    if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) throw new Error(`--aspect takes W:H ratios of positive integers separated by commas (e.g. 1:1,16:9,9:16), got "${a}"`);
  }
  return list;
}

interface AspectRow {
  aspect: string;
  width: number;
  height: number;
  clips: number;
  seconds: number;
  rates: Record<'colour' | 'motion' | 'shape' | 'scene' | 'consistent', number>;
}

/** The closing table of a multi-aspect run: one row per aspect, rates in percent. */
function aspectTable(rows: AspectRow[]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  return [
    'Adherence by aspect (same prompts, seeds and settings)',
    '| aspect | size | clips | colour | motion | shape | scene | consistent | generation |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.aspect} | ${r.width}x${r.height} | ${r.clips} | ${pct(r.rates.colour)} | ${pct(r.rates.motion)} | ${pct(r.rates.shape)} | ${pct(r.rates.scene)} | ${pct(r.rates.consistent)} | ${r.seconds.toFixed(0)} s |`),
  ].join('\n');
}

interface Numbers {
  steps: number | undefined;
  guidance: number | undefined;
  seeds: number;
  limit: number | undefined;
  tolerance: number;
  aspects: string[];
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
      aspect: { type: 'string' },
      'text-only': { type: 'boolean', default: false },
      styles: { type: 'string' },
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
    `presence ${(v.presence * 100).toFixed(0)}% flicker ${v.flicker.toFixed(1)} ${JSON.stringify(roundedFigures(v.features))}`
  );
}

function roundedFigures(figures: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).map(([k, x]) => [k, Math.round(x * 100) / 100]));
}

/**
 * Whether the package (by folder, or the daemon's default, models/tiny-world) has an image encoder: the daemon
 * refuses an image for a package without one, so the eval says so instead of failing every request.
 */
function hasEncoder(modelDir: string | undefined): boolean {
  const dir = modelDir ?? path.resolve(path.dirname(WORLD_FILE), '../models/tiny-world');
  return existsSync(path.join(dir, 'vae_encoder'));
}

async function evaluate(values: Values, numbers: Numbers, aspect: string | undefined): Promise<AspectRow> {
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
  let size = { width: 0, height: 0 };
  let generationSeconds = 0;
  const styleBase: StyledClip[] = [];
  const styled: Record<string, StyledClip[]> = {};
  let styleNote: string | undefined;
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
    // The world's first frames are square: image-to-video is compared at the default size only.
    const square = aspect === undefined || aspectIsSquare(aspect);
    const withImages = !values['text-only'] && square && hasEncoder(modelDir);
    if (!values['text-only'] && !square) imageNote = `image-to-video: not run (the world's first frames are square, the clips ${aspect})`;
    else if (!values['text-only'] && !withImages) imageNote = 'image-to-video: not run (the package has no vae_encoder/)';
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
    let styleSeconds = 0;
    try {
      const sized = aspect !== undefined ? await sizeFor(daemon.address, aspect) : undefined;
      // The style table (styles.ts): at the default aspect, every prompt and seed again with each style.
      const styles = aspect === undefined ? await chooseStyles(daemon.address, values.styles, modelName) : [];
      for (const [i, c] of cases.entries()) {
        for (let k = 0; k < seeds; k++) {
          const generate = {
            seed: c.seed + k,
            ...(numbers.steps !== undefined ? { steps: numbers.steps } : {}),
            ...(numbers.guidance !== undefined ? { guidanceScale: numbers.guidance } : {}),
            ...(values.scheduler !== undefined ? { scheduler: values.scheduler } : {}),
            ...(sized ?? {}),
          };
          const clip = await generateClip(daemon.address, { prompt: c.prompt, ...generate });
          size = { width: clip.width, height: clip.height };
          report(score(c, judgeClip(world, clip)));
          if (values.save) saved.push(saveClip(values.save, saved.length, c, clip));
          if (styles.length) {
            const t3 = performance.now();
            styleBase.push(baseStyledClip(world, c, clip, styles));
            for (const [style, made] of Object.entries(await styledClips(daemon.address, world, c, generate, styles))) {
              (styled[style] ??= []).push(made.styled);
              const look = made.styled.looks[style];
              if (values.verbose && look) console.log(verboseLine(made.styled.scored, ` [style ${style}: look ${look.pass ? 'ok' : 'missing'} ${JSON.stringify(roundedFigures(look.figures))}]`));
            }
            styleSeconds += (performance.now() - t3) / 1000;
          }
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
    generationSeconds = total - imageSeconds - styleSeconds;
    if (styleBase.length) styleNote = styleTable(compareStyles(styleBase, styled), `Styles on the same prompts and seeds, strength 1, generated in ${styleSeconds.toFixed(0)} s`);
    source = `generated through the daemon${aspect !== undefined ? ` at ${aspect} (${size.width}x${size.height})` : ''} in ${generationSeconds.toFixed(0)} s`;
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
  if (styleNote) printed.push('', styleNote);
  const text = printed.join('\n');
  console.log(text);
  if (values.report) writeFileSync(values.report, `${text}\n`, aspect !== undefined && numbers.aspects.length > 1 ? { flag: 'a' } : {});
  if (values.json) {
    const entry = (r: Scored, mode: string): object => ({ mode, ...r.case, got: { ...r.verdict }, ok: r.ok });
    const all = [
      ...results.map((r) => entry(r, 'text-to-video')),
      ...imageResults.map((m) => ({ ...entry(m.scored, 'image-to-video'), psnr: m.psnr, textPsnr: m.textPsnr, codecPsnr: m.codecPsnr })),
    ];
    writeFileSync(values.json, JSON.stringify(all, null, 1));
  }
  const keys = ['colour', 'motion', 'shape', 'scene', 'consistent'] as const;
  const rates = Object.fromEntries(keys.map((k) => [k, results.filter((r) => r.ok[k]).length / Math.max(1, results.length)])) as AspectRow['rates'];
  return { aspect: aspect ?? 'default', ...size, clips: results.length, seconds: generationSeconds, rates };
}

function aspectIsSquare(aspect: string): boolean {
  const [a, b] = aspect.split(':').map(Number);
  return a === b;
}

/**
 * Width and height the daemon gives `aspect` for its default model (shared/wire/model-limits.ts sizeForAspect on its
 * ListModels limits and defaults): sent as a size, so that an aspect the package does not list can be measured.
 */
async function sizeFor(address: string, aspect: string): Promise<{ width: number; height: number }> {
  const client = connectAnimator(address);
  try {
    const { models, defaultModel } = await client.listModels();
    const model = models.find((m) => m.name === defaultModel) ?? models[0];
    if (!model?.limits || !model.defaults) throw new Error(`the daemon at ${address} lists no model with limits and defaults`);
    return sizeForAspect(aspect, model.limits, model.defaults);
  } finally {
    client.close();
  }
}

await main();
