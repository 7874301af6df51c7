// Makes docs/contact-sheet.png, the README's picture of what the embedded model does: several prompts generated with
// fixed seeds through a daemon started here (the embedded model, as `npm run animate` uses it), N evenly spaced frames
// of each clip cut by ffmpeg into one row, the prompt written under it (ffmpeg drawtext, DejaVu Sans), rows stacked
// into one palette PNG (small enough for the repository). Each row is also judged by the eval's checks
// (tools/eval/checks.ts) and the verdict printed, so a sheet that shows a wrong colour or motion says so.
//
//   npx tsx tools/contact-sheet/contact-sheet.ts [--out docs/contact-sheet.png] [--seed 42] [--frames 6] [--prompt "…"]…
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { z } from 'zod';
import { getMediaBinaries } from '../../inference/media/index.ts';
import { silentLogger } from '../../inference/log.ts';
import { startDaemon } from '../../inference/server/daemon.ts';
import { judgeClip } from '../eval/checks.ts';
import { generateClip } from '../eval/generate.ts';
import { loadWorld, WORLD_FILE } from '../eval/world.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const PACKAGE_DIR = path.join(ROOT, 'models/tiny-world');

/** The settings and their defaults, written once; the command line is checked against them. */
const Options = z.object({
  /** Where the PNG goes. */
  out: z.string().min(1).default(path.join(ROOT, 'docs/contact-sheet.png')),
  /** The seed of every clip: the same sheet each run (on the same onnxruntime). */
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1).default(42),
  /** Frames shown per clip, evenly spaced from the first to the last. */
  frames: z.coerce.number().int().min(2).max(12).default(6),
  /** Denoising steps; absent: the model's default. */
  steps: z.coerce.number().int().min(1).max(100).optional(),
  /** Prompts, one row each; empty: the package's example_prompts (models/tiny-world/model_index.json). */
  prompts: z.array(z.string().trim().min(1).max(200)).max(12).default([]),
  /** The font drawtext writes the prompts with; when it is missing the rows are unlabelled and the prompts printed. */
  font: z.string().default('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'),
});
type Options = z.output<typeof Options>;

const USAGE = `npx tsx tools/contact-sheet/contact-sheet.ts [options]
Generates each prompt with the embedded model (seeded), cuts N frames of each clip with ffmpeg and tiles them into
one PNG, the prompt under each row.

  --out FILE      the PNG (default docs/contact-sheet.png)
  --seed N        seed of every clip (default 42)
  --frames N      frames per row, 2 to 12 (default 6)
  --steps N       denoising steps (default: the model's)
  --prompt TEXT   a row's prompt; repeat for more rows, up to 12 (default: the package's example_prompts)
  --font FILE     TrueType font for the labels (default DejaVu Sans)
  --help          this text`;

/** Label strip under each row, and the sheet's background (the playground's dark grey). */
const LABEL_HEIGHT = 22;
const BACKGROUND = '0x1e1f22';

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      seed: { type: 'string' },
      frames: { type: 'string' },
      steps: { type: 'string' },
      prompt: { type: 'string', multiple: true },
      font: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const parsed = Options.safeParse({ out: values.out, seed: values.seed, frames: values.frames, steps: values.steps, prompts: values.prompt, font: values.font });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`--${issue.path[0] === 'prompts' ? 'prompt' : String(issue.path[0])}: ${issue.message}`);
  }
  return parsed.data;
}

/** Frame numbers of `count` evenly spaced frames of a `total`-frame clip, first and last included. */
function evenFrames(total: number, count: number): number[] {
  const n = Math.min(count, total);
  if (n <= 1) return [0];
  return Array.from({ length: n }, (_, i) => Math.round((i * (total - 1)) / (n - 1)));
}

async function hasDrawtext(ffmpeg: string): Promise<boolean> {
  const { stdout } = await run(ffmpeg, ['-hide_banner', '-filters'], { maxBuffer: 4 << 20 });
  return /\sdrawtext\s/.test(stdout);
}

async function main(): Promise<void> {
  let options: Options | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`contact-sheet: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const index = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'model_index.json'), 'utf8')) as { animate?: { example_prompts?: string[] } };
  const prompts = options.prompts.length ? options.prompts : (index.animate?.example_prompts ?? []);
  if (prompts.length === 0) throw new Error(`no prompts: give --prompt, or list example_prompts in ${PACKAGE_DIR}/model_index.json`);
  const { ffmpegPath } = await getMediaBinaries();
  const labelled = existsSync(options.font) && (await hasDrawtext(ffmpegPath));
  if (!labelled) console.warn(`contact-sheet: rows are unlabelled (${existsSync(options.font) ? 'this ffmpeg has no drawtext' : `no font at ${options.font}`}); the prompts, top to bottom, are printed below`);

  const world = loadWorld(WORLD_FILE);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'contact-sheet-'));
  const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: path.dirname(PACKAGE_DIR), defaultModel: 'tiny-world', logger: silentLogger });
  try {
    const rows: string[] = [];
    let perRow = 0;
    for (const [k, prompt] of prompts.entries()) {
      const clip = await generateClip(daemon.address, { prompt, seed: options.seed, ...(options.steps !== undefined ? { steps: options.steps } : {}) });
      const v = judgeClip(world, clip);
      console.log(`${k + 1}. ${prompt} (seed ${options.seed}): saw a ${v.colour ?? '?'} ${v.shape ?? '?'}, motion ${v.motion}, scene ${v.scene}`);
      const input = path.join(dir, `${k}.mp4`);
      writeFileSync(input, clip.mp4);
      const picks = evenFrames(clip.frames.length, options.frames);
      perRow = picks.length;
      const select = picks.map((n) => `eq(n\\,${n})`).join('+');
      const filters = [`select='${select}'`, `tile=${picks.length}x1:padding=2:color=${BACKGROUND}`];
      if (labelled) {
        const textFile = path.join(dir, `${k}.txt`);
        writeFileSync(textFile, prompt);
        filters.push(
          `pad=iw:ih+${LABEL_HEIGHT}:0:0:color=${BACKGROUND}`,
          `drawtext=fontfile='${options.font}':textfile='${textFile}':fontsize=14:fontcolor=0xdbdee1:x=6:y=h-${LABEL_HEIGHT - 4}`,
        );
      }
      const row = path.join(dir, `row${k}.png`);
      await run(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-vf', filters.join(','), '-frames:v', '1', row]);
      rows.push(row);
    }
    // Stacked, then quantised to one 256-colour palette: the world's flat colours survive and the file stays small.
    const inputs = rows.flatMap((r) => ['-i', r]);
    const stack = rows.length > 1 ? `${rows.map((_, i) => `[${i}:v]`).join('')}vstack=inputs=${rows.length}[s];[s]` : '[0:v]';
    const graph = `${stack}split[a][b];[a]palettegen=max_colors=256:stats_mode=full[p];[b][p]paletteuse=dither=none`;
    await run(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', graph, '-frames:v', '1', options.out]);
    console.log(`wrote ${options.out}: ${prompts.length} rows of ${perRow} frames, ${(statSync(options.out).size / 1024).toFixed(0)} KiB`);
    if (!labelled) console.log(prompts.map((p, i) => `${i + 1}. ${p}`).join('\n'));
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
