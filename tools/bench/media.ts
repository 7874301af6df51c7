/**
 * Encode timings of the media module (inference/media): `npx tsx tools/bench/media.ts [--runs N]`.
 * Prints the median and fastest wall time per case, with output sizes. The synthetic clip has smooth moving
 * gradients plus a sliding square, closer to generated video than flat colour (which would flatter the encoders).
 */
import { encodeClip, encodePreview, getMediaBinaries, type ClipFormat, type RgbVideo } from '../../inference/media/index.ts';

function syntheticVideo(width: number, height: number, frames: number, fps = 8): RgbVideo {
  const list: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(width * height * 3);
    const left = Math.round((f / Math.max(1, frames - 1)) * (width * 0.6));
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const inSquare = x >= left && x < left + width / 5 && y >= height / 3 && y < height / 3 + height / 5;
        frame[i] = inSquare ? 230 : 127 + 100 * Math.sin((x + 3 * f) / 11);
        frame[i + 1] = inSquare ? 40 : 127 + 100 * Math.cos((y - 2 * f) / 9);
        frame[i + 2] = inSquare ? 30 : (x + y + 5 * f) % 256;
      }
    }
    list.push(frame);
  }
  return { width, height, fps, frames: list };
}

async function measure(runs: number, body: () => Promise<{ data: Buffer }>): Promise<{ median: number; min: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    const result = await body();
    times.push(performance.now() - start);
    bytes = result.data.length;
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)] ?? 0, min: times[0] ?? 0, bytes };
}

function row(label: string, result: { median: number; min: number; bytes: number }): void {
  console.log(
    `${label.padEnd(44)} median ${result.median.toFixed(1).padStart(7)} ms   min ${result.min.toFixed(1).padStart(7)} ms   ${String(result.bytes).padStart(8)} bytes`,
  );
}

async function main(): Promise<void> {
  const runsIndex = process.argv.indexOf('--runs');
  const runs = runsIndex > 0 ? Number(process.argv[runsIndex + 1]) : 7;
  await getMediaBinaries();

  const preview = syntheticVideo(64, 64, 17);
  for (const format of ['webp', 'gif'] as const) {
    await encodePreview(preview, { format, maxSide: 128 }); // warm-up
    row(`preview ${format} 64x64x17 → 128`, await measure(runs * 3, () => encodePreview(preview, { format, maxSide: 128 })));
  }

  const cases: { video: RgbVideo; upscale: number }[] = [
    { video: syntheticVideo(128, 128, 17), upscale: 1 },
    { video: syntheticVideo(256, 256, 33), upscale: 1 },
    { video: syntheticVideo(256, 256, 33), upscale: 4 },
  ];
  for (const { video, upscale } of cases) {
    for (const format of ['mp4', 'gif', 'webp'] as ClipFormat[]) {
      const label = `clip ${format} ${video.width}x${video.height}x${video.frames.length} upscale ${upscale}`;
      const caseRuns = upscale > 1 ? Math.max(1, Math.ceil(runs / 3)) : runs;
      row(label, await measure(caseRuns, () => encodeClip(video, { format, upscale })));
    }
  }
}

await main();
