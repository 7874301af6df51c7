// `npm run bench`: speed and memory figures for a model package, on this machine. A tool above the daemon: it runs
// the text-to-video pipeline alone (its own worker and sessions), then a daemon over gRPC on loopback as a client.
//   per-step denoiser time (pure session.run, batch 2 with guidance), whole-pipeline time, the ratio of pipeline
//   time to the sum of pure session.run times (goal ≤ 1.05), time to first preview, the event loop's largest delay
//   during generation (goal ≤ 20 ms), encode time, and peak RSS. Medians over --runs runs.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { createLogger } from '../../inference/log.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { ModelSessions } from '../../inference/model/sessions.ts';
import { TextToVideo } from '../../inference/pipeline/text-to-video.ts';
import { DEFAULT_MODELS_DIR, DEFAULT_MODEL, startDaemon } from '../../inference/server/daemon.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { encodeClip } from '../../inference/media/index.ts';
import { clusterBenchCli } from './cluster.ts';
import { previewsBenchCli } from './previews.ts';
import { median } from './stats.ts';

const USAGE = `Usage: npm run bench -- [--model-dir DIR] [--runs N] [--steps N] [--prompt TEXT] [--threads N]
       npm run bench -- --cluster [options]    (1 vs 2 workers and failover on a local Redis; --cluster --help)
       npm run bench -- --previews [options]   (previews off vs on, first preview, event loop; --previews --help)

Defaults: the embedded model (models/${DEFAULT_MODEL}), 5 runs, the model's default steps.
`;

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  // The cluster bench has its own flags and figures (tools/bench/cluster.ts).
  const argv = process.argv.slice(2);
  if (argv.includes('--cluster')) return clusterBenchCli(argv.filter((a) => a !== '--cluster'));
  if (argv.includes('--previews')) return previewsBenchCli(argv.filter((a) => a !== '--previews'));
  const { values } = parseArgs({
    options: { 'model-dir': { type: 'string' }, runs: { type: 'string' }, steps: { type: 'string' }, prompt: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const modelDir = path.resolve(values['model-dir'] ?? path.join(DEFAULT_MODELS_DIR, DEFAULT_MODEL));
  const runs = Number(values.runs ?? 5);
  const threads = Number(values.threads ?? 0);
  const pkg = await readModelPackage(modelDir);
  const d = pkg.config.defaults;
  const steps = Number(values.steps ?? d.steps);
  const prompt = values.prompt ?? pkg.config.example_prompts[0] ?? 'a red ball bouncing';
  process.stdout.write(`bench: ${pkg.name} (${modelDir}), ${d.frames} frames ${d.width}x${d.height}, ${steps} steps, guidance ${d.guidance_scale}, ${runs} runs\n`);

  // 1. The pipeline alone (no previews, no encode): wall time vs the sum of pure session.run times.
  const worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: threads });
  const sessions = await ModelSessions.load(pkg, worker);
  const pipeline = new TextToVideo(sessions);
  const params = { prompt, negativePrompt: '', seed: 1, steps, guidanceScale: d.guidance_scale, frames: d.frames, width: d.width, height: d.height, scheduler: pkg.defaultScheduler, previewEvery: 0, previewMaxSide: 128 };
  await pipeline.run({ ...params, steps: 2 }); // warm-up
  const pipelineMs: number[] = [];
  const ratio: number[] = [];
  const stepMs: number[] = [];
  const decodeMs: number[] = [];
  const encodeMs: Record<'mp4' | 'gif' | 'webp', number[]> = { mp4: [], gif: [], webp: [] };
  for (let i = 0; i < runs; i++) {
    const before = { ...pipeline.batchStats };
    const t0 = performance.now();
    const result = await pipeline.run({ ...params, seed: i + 1 });
    const wall = performance.now() - t0;
    pipelineMs.push(wall);
    ratio.push(wall / result.timings.sessionRunMs);
    stepMs.push((pipeline.batchStats.runMs - before.runMs) / (pipeline.batchStats.runs - before.runs));
    decodeMs.push(result.timings.decodeMs);
    for (const format of ['mp4', 'gif', 'webp'] as const) {
      const e0 = performance.now();
      await encodeClip({ ...result.video, fps: d.fps }, { format });
      encodeMs[format].push(performance.now() - e0);
    }
  }
  await sessions.dispose();
  await worker.close();

  // 2. Through the daemon over gRPC on loopback: end-to-end time, first preview, event-loop delay.
  const daemon = await startDaemon({ listen: '127.0.0.1:0', modelDirs: [modelDir], threads, logger: createLogger('warn') });
  const client = connectAnimator(daemon.address);
  const e2eMs: number[] = [];
  const firstPreviewMs: number[] = [];
  const loopMaxMs: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    let first = 0;
    for await (const e of client.generate({ prompt, seed: i + 1, steps })) if (e.preview && !first) first = performance.now() - t0;
    const wall = performance.now() - t0;
    h.disable();
    if (i === 0) continue; // warm-up
    e2eMs.push(wall);
    firstPreviewMs.push(first);
    loopMaxMs.push(h.max / 1e6);
  }
  client.close();
  await daemon.close();

  const rows: Array<[string, string, string]> = [
    ['denoiser step (pure session.run, batch 2)', fmt(median(stepMs)), ''],
    ['pipeline (text + denoise + decode)', fmt(median(pipelineMs)), ''],
    ['pipeline / Σ session.run', median(ratio).toFixed(3), 'goal ≤ 1.05'],
    ['VAE decode', fmt(median(decodeMs)), ''],
    ['MP4 encode', fmt(median(encodeMs.mp4)), ''],
    ['GIF encode', fmt(median(encodeMs.gif)), 'on request'],
    ['WebP encode', fmt(median(encodeMs.webp)), 'on request'],
    ['end to end over gRPC (prompt → clip)', fmt(median(e2eMs)), ''],
    ['time to first preview', fmt(median(firstPreviewMs)), ''],
    ['event loop largest delay', fmt(median(loopMaxMs)), 'goal ≤ 20 ms'],
    ['peak RSS', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`, ''],
  ];
  process.stdout.write(`\n${'figure'.padEnd(42)} ${'median'.padStart(10)}  note\n`);
  for (const [name, value, note] of rows) process.stdout.write(`${name.padEnd(42)} ${value.padStart(10)}  ${note}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
