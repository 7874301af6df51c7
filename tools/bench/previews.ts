// `npm run bench -- --previews`: what previews cost, side by side in one run (issue #23). A daemon on loopback makes
// the same clips with previews off and on, alternating which goes first so that drift on a shared machine falls on
// both; printed: the clip time each way and the overhead (goal ≤ 5%), the time to the first preview (goal ≤ 0.3 s),
// the event loop's largest delay with previews on (goal ≤ 20 ms), the previews' count and size, and the last
// preview's PSNR against the final clip (goal ≥ 22 dB: the preview decoder's point), each the median over the runs.
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { PREVIEW_FORMAT_TO_WIRE, type PreviewFormat } from '../../shared/wire/formats.ts';
import { createLogger } from '../../inference/log.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { DEFAULT_MODELS_DIR, DEFAULT_MODEL, startDaemon } from '../../inference/server/daemon.ts';
import { decodeFrames } from '../../inference/media/index.ts';
import { previewEncoderThread } from '../../inference/media/preview-encoder.ts';
import { median } from './stats.ts';

const USAGE = `Usage: npm run bench -- --previews [--model-dir DIR] [--runs N] [--steps N] [--format gif|webp] [--threads N]

Defaults: the embedded model (models/${DEFAULT_MODEL}), 5 runs (each a clip with previews off and one with them on,
plus one warm-up pair), the model's default steps, WebP previews (the bots' default; both formats are encoded in-process).
`;

/** PSNR (dB) of a preview against the clip: each clip frame against the preview frame at the same time, at the clip's size (nearest). */
export function previewPsnr(preview: { width: number; height: number; frames: Uint8Array[] }, clip: { width: number; height: number; frames: Uint8Array[] }): number {
  let se = 0, n = 0;
  clip.frames.forEach((frame, k) => {
    const p = preview.frames[Math.min(preview.frames.length - 1, Math.floor((k * preview.frames.length) / clip.frames.length))]!;
    for (let y = 0; y < clip.height; y++) {
      const py = Math.floor((y * preview.height) / clip.height);
      for (let x = 0; x < clip.width; x++) {
        const px = Math.floor((x * preview.width) / clip.width);
        for (let c = 0; c < 3; c++) {
          const d = frame[(y * clip.width + x) * 3 + c]! - p[(py * preview.width + px) * 3 + c]!;
          se += d * d;
          n++;
        }
      }
    }
  });
  return 10 * Math.log10((255 * 255) / Math.max(se / n, 1e-9));
}

interface Run {
  wallMs: number;
  /** CPU time of this process, all its threads (onnxruntime's, the preview encoder's): steadier than wall time on a shared machine. */
  cpuMs: number;
  /** Time the event loop was busy (not idle waiting): what previews cost the main thread itself. */
  loopBusyMs: number;
  firstPreviewMs: number;
  loopMaxMs: number;
  previews: number;
  previewBytes: number;
  lastPreviewStep: number;
  psnr: number;
}

export async function previewsBenchCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'model-dir': { type: 'string' }, runs: { type: 'string' }, steps: { type: 'string' }, format: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const format = (values.format ?? 'webp') as PreviewFormat;
  if (format !== 'gif' && format !== 'webp') throw new Error(`--format ${values.format}: allowed: gif, webp`);
  const runs = Number(values.runs ?? 5);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: allowed: a whole number ≥ 1`);
  const modelDir = path.resolve(values['model-dir'] ?? path.join(DEFAULT_MODELS_DIR, DEFAULT_MODEL));
  const pkg = await readModelPackage(modelDir);
  const steps = Number(values.steps ?? pkg.config.defaults.steps);
  const decoder = pkg.onnx.preview_decoder ? 'preview/model.onnx' : pkg.previewFactors ? 'preview/latent_rgb.json' : 'vae_decoder';
  process.stdout.write(`bench --previews: ${pkg.name}, ${steps} steps, ${format} previews from ${decoder}, ${runs} runs\n`);

  const daemon = await startDaemon({ listen: '127.0.0.1:0', modelDirs: [modelDir], threads: Number(values.threads ?? 0), logger: createLogger('warn') });
  const client = connectAnimator(daemon.address);
  const prompts = pkg.config.example_prompts.length ? pkg.config.example_prompts : ['a red ball bouncing'];
  const one = async (prompt: string, seed: number, previews: boolean): Promise<Run> => {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const elu0 = perf.eventLoopUtilization();
    let first = 0, count = 0, bytes = 0, lastStep = 0;
    let last: Uint8Array | undefined;
    const clip: Uint8Array[] = [];
    const preview = previews ? { format: PREVIEW_FORMAT_TO_WIRE[format] } : { disabled: true };
    for await (const e of client.generate({ prompt, seed, steps, preview })) {
      if (e.preview) {
        if (!first) first = performance.now() - t0;
        count++;
        bytes += e.preview.image.length;
        last = e.preview.image;
        lastStep = e.preview.step;
      }
      if (e.clip) clip.push(e.clip.data);
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const loopBusyMs = perf.eventLoopUtilization(elu0).active;
    h.disable();
    let psnr = Number.NaN;
    if (last) {
      const [p, c] = await Promise.all([decodeFrames(Buffer.from(last)), decodeFrames(Buffer.concat(clip))]);
      psnr = previewPsnr(p, c);
    }
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, loopBusyMs, firstPreviewMs: first, loopMaxMs: h.max / 1e6, previews: count, previewBytes: count ? bytes / count : 0, lastPreviewStep: lastStep, psnr };
  };

  const off: Run[] = [], on: Run[] = [];
  for (let i = 0; i <= runs; i++) {
    const prompt = prompts[i % prompts.length]!;
    // Alternate the order so that a machine getting busier or quieter weighs on both.
    const pair = i % 2 ? [await one(prompt, i + 1, true), await one(prompt, i + 1, false)] : [await one(prompt, i + 1, false), await one(prompt, i + 1, true)];
    if (i === 0) continue; // warm-up: sessions, the encoder thread
    const [a, b] = pair as [Run, Run];
    const [runOff, runOn] = i % 2 ? [b, a] : [a, b];
    off.push(runOff);
    on.push(runOn);
    process.stdout.write(`run ${i}: "${prompt}" off ${runOff.wallMs.toFixed(0)} ms, on ${runOn.wallMs.toFixed(0)} ms, ${runOn.previews} previews (last at step ${runOn.lastPreviewStep}, ${runOn.psnr.toFixed(2)} dB), first ${runOn.firstPreviewMs.toFixed(0)} ms, loop max ${runOn.loopMaxMs.toFixed(1)} / ${runOff.loopMaxMs.toFixed(1)} ms\n`);
  }
  client.close();
  await daemon.close();
  await previewEncoderThread.close();

  const m = (rs: Run[], k: keyof Run) => median(rs.map((r) => r[k]));
  const overhead = median(on.map((r, k) => r.wallMs / off[k]!.wallMs - 1)) * 100;
  const rows: Array<[string, string, string]> = [
    ['clip, previews off (prompt → done)', `${m(off, 'wallMs').toFixed(1)} ms`, ''],
    ['clip, previews on', `${m(on, 'wallMs').toFixed(1)} ms`, ''],
    ['overhead of previews (paired)', `${overhead.toFixed(1)} %`, 'goal ≤ 5%'],
    ['CPU per clip, previews off / on', `${m(off, 'cpuMs').toFixed(0)} / ${m(on, 'cpuMs').toFixed(0)} ms`, `${(median(on.map((r, k) => r.cpuMs / off[k]!.cpuMs - 1)) * 100).toFixed(1)} % more (all threads; no process spawned)`],
    ['event loop busy per clip, off / on', `${m(off, 'loopBusyMs').toFixed(0)} / ${m(on, 'loopBusyMs').toFixed(0)} ms`, 'the main thread\'s own work'],
    ['time to first preview', `${m(on, 'firstPreviewMs').toFixed(1)} ms`, 'goal ≤ 300 ms'],
    ['event loop largest delay, previews on', `${m(on, 'loopMaxMs').toFixed(1)} ms`, 'goal ≤ 20 ms'],
    ['event loop largest delay, previews off', `${m(off, 'loopMaxMs').toFixed(1)} ms`, ''],
    ['previews per clip', m(on, 'previews').toFixed(0), 'paced ≥ 250 ms apart'],
    ['preview size', `${(m(on, 'previewBytes') / 1024).toFixed(1)} KiB`, format],
    ['last preview vs final clip', `${m(on, 'psnr').toFixed(2)} dB`, 'goal ≥ 22 dB'],
  ];
  process.stdout.write(`\n${'figure'.padEnd(42)} ${'median'.padStart(10)}  note\n`);
  for (const [name, value, note] of rows) process.stdout.write(`${name.padEnd(42)} ${value.padStart(10)}  ${note}\n`);
}
