// The output safety classifier on its own (inference/safety/): which frames are looked at, the resize, config.json's
// rules and their messages, and the scores of the fixture classifier (real onnxruntime, in the inference worker)
// checked to the number against its closed form on synthetic frames. Prints what the check adds to a clip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixtureClassifier } from '../fixtures/safety-classifier.ts';
import { OnnxWorkerClient } from '../../inference/worker/onnx-worker-client.ts';
import { SafetyClassifier, readSafetyModel, type SafetyWorker } from '../../inference/safety/classifier.ts';
import { parseSafetyConfig } from '../../inference/safety/classifier-config.ts';
import { framesToInput, resizeFrame, sampleFrameIndices } from '../../inference/safety/frame-input.ts';
import { judge, scoresFrom } from '../../inference/safety/verdict.ts';
import { SafetyError } from '../../inference/safety/errors.ts';
import type { RgbFrames } from '../../inference/pipeline/frames.ts';

let dir: string;
let worker: OnnxWorkerClient;
/** Counts session runs, to see how frames are batched. */
let runs = 0;
let counting: SafetyWorker;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-safety-'));
  worker = new OnnxWorkerClient({ executionProvider: 'cpu', intraOpThreads: 1 });
  counting = { load: (k, p) => worker.load(k, p), run: (k, f) => (runs++, worker.run(k, f)) };
});
afterAll(async () => {
  await worker.close();
  await rm(dir, { recursive: true, force: true });
});

/** `count` frames of w×h, frame i filled with colours[i % colours.length]. */
function solidFrames(w: number, h: number, colours: Array<[number, number, number]>, count = colours.length): RgbFrames {
  const frames = Array.from({ length: count }, (_, i) => {
    const f = new Uint8Array(w * h * 3);
    const c = colours[i % colours.length]!;
    for (let p = 0; p < w * h; p++) f.set(c, p * 3);
    return f;
  });
  return { width: w, height: h, frames };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('frame sampling and resizing', () => {
  it('spreads the sampled frames evenly, first and last included', () => {
    expect(sampleFrameIndices(17, 4)).toEqual([0, 5, 11, 16]);
    expect(sampleFrameIndices(5, 4)).toEqual([0, 1, 3, 4]);
    expect(sampleFrameIndices(3, 4)).toEqual([0, 1, 2]);
    expect(sampleFrameIndices(17, 1)).toEqual([8]);
    expect(sampleFrameIndices(17, 2)).toEqual([0, 16]);
    expect(sampleFrameIndices(0, 4)).toEqual([]);
  });

  it('weighs every source pixel when shrinking, and interpolates when enlarging', () => {
    // A row 0,0,255,255 halved: triangle weights 0.75, 0.75, 0.25 over three source pixels (PIL's bilinear), so each
    // output pixel leans to its own two and the row's mean (127.5) is kept.
    const row = Uint8Array.from([0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255]);
    const half = resizeFrame(row, 4, 1, 2, 1);
    expect(Array.from(half.filter((_, i) => i % 3 === 0)).map((v) => Math.round(v * 100) / 100)).toEqual([36.43, 218.57]);
    // Enlarging 0,255 to 4: bilinear with half-pixel centres.
    const two = Uint8Array.from([0, 0, 0, 255, 255, 255]);
    expect(Array.from(resizeFrame(two, 2, 1, 4, 1).filter((_, i) => i % 3 === 0))).toEqual([0, 63.75, 191.25, 255]);
    // A uniform frame stays uniform at any size.
    const solid = solidFrames(13, 7, [[200, 10, 30]]).frames[0]!;
    const out = resizeFrame(solid, 13, 7, 16, 16);
    for (let p = 0; p < 256; p++) expect([out[p * 3]!, out[p * 3 + 1]!, out[p * 3 + 2]!].map((v) => Math.round(v * 1000) / 1000)).toEqual([200, 10, 30]);
  });

  it('lays frames out as NCHW or NHWC, normalised by mean and std', () => {
    const video = solidFrames(4, 4, [[255, 0, 51], [0, 255, 0]]);
    const nchw = framesToInput(video, [0, 1], { input_size: [2, 2], layout: 'NCHW', mean: [0.5, 0, 0], std: [0.5, 1, 0.2] });
    expect(nchw.dims).toEqual([2, 3, 2, 2]);
    // frame 0: R (1 − 0.5)/0.5 = 1, G 0, B 0.2/0.2 = 1; frame 1: R −1, G 1, B 0.
    expect(Array.from(nchw.data as Float32Array).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, 0, 0, 0, 0]);
    const nhwc = framesToInput(video, [0], { input_size: [1, 2], layout: 'NHWC', mean: [0, 0, 0], std: [1, 1, 1] });
    expect(nhwc.dims).toEqual([1, 1, 2, 3]);
    expect(Array.from(nhwc.data as Float32Array).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([1, 0, 0.2, 1, 0, 0.2]);
  });
});

describe('config.json', () => {
  const good = { input_size: [16, 16], labels: ['red', 'neutral'], thresholds: { red: 0.5 } };
  const problem = (value: unknown) => {
    try {
      parseSafetyConfig(value, 'safety/config.json');
    } catch (err) {
      expect(err).toBeInstanceOf(SafetyError);
      expect((err as SafetyError).code).toBe('SAFETY_CONFIG_INVALID');
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it('fills the documented defaults', () => {
    expect(parseSafetyConfig(good, 'x')).toEqual({ ...good, layout: 'NCHW', mean: [0, 0, 0], std: [1, 1, 1], activation: 'none', frames_sampled: 4 });
  });

  it('names the file and the field, and what is allowed', () => {
    expect(problem({ ...good, thresholds: { blue: 0.5 } })).toBe('safety/config.json: thresholds.blue: "blue" is not one of labels (red, neutral)');
    expect(problem({ ...good, thresholds: {} })).toBe("safety/config.json: thresholds: needs at least one label's threshold (labels: red, neutral)");
    expect(problem({ ...good, thresholds: { red: 1.5 } })).toBe('safety/config.json: thresholds.red: a threshold is a score from 0 to 1');
    expect(problem({ ...good, layout: 'CHW' })).toBe('safety/config.json: layout: must be one of NCHW, NHWC');
    expect(problem({ ...good, std: [1, 0, 1] })).toBe('safety/config.json: std.1: std values must be above 0');
    expect(problem({ ...good, mean: [0.5] })).toBe('safety/config.json: mean: mean needs 3 numbers (R, G, B)');
    expect(problem({ ...good, input_size: [16] })).toMatch(/^safety\/config\.json: input_size: /);
    expect(problem({ ...good, input_size: [0, 16] })).toBe('safety/config.json: input_size.0: a side must be at least 1 pixel');
    expect(problem({ ...good, input_size: [16, 2000] })).toBe('safety/config.json: input_size.1: must be at most 1024');
    expect(problem({ ...good, labels: ['red', 'red'] })).toBe('safety/config.json: labels: labels must be unique');
    expect(problem({ ...good, frames_sampled: 100 })).toBe('safety/config.json: frames_sampled: must be a whole number from 1 to 64');
    expect(problem({ ...good, threshold: { red: 0.5 } })).toBe(
      'safety/config.json: unknown field "threshold" (allowed: input_size, labels, thresholds, layout, mean, std, activation, frames_sampled, input_name, output_name)',
    );
  });

  it('a folder without model.onnx, or with broken JSON, says which file', async () => {
    const empty = path.join(dir, 'empty');
    await buildFixtureClassifier(empty);
    await writeFile(path.join(empty, 'config.json'), '{ "input_size": [16, 16], ');
    await expect(readSafetyModel(empty, 'package', 'safety/')).rejects.toThrow(/^safety\/config\.json: is not valid JSON \(/);
    await rm(path.join(empty, 'model.onnx'));
    await expect(readSafetyModel(empty, 'package', 'safety/')).rejects.toThrow('safety/model.onnx: is missing (the classifier graph; config.json says how to feed it)');
  });
});

describe('the fixture classifier through onnxruntime', () => {
  it('scores sigmoid(k·(mean red − level)) on synthetic frames, all sampled frames in one run', async () => {
    const fx = await buildFixtureClassifier(path.join(dir, 'red'), { k: 20, level: 0.5, framesSampled: 4 });
    const classifier = await SafetyClassifier.load(await readSafetyModel(fx.dir, 'package', 'safety/'), counting);
    // 17 frames of 32×32; the sampled ones (0, 5, 11, 16) get reds 40, 128, 200, 255.
    const reds = new Map([[0, 40], [5, 128], [11, 200], [16, 255]]);
    const video = solidFrames(32, 32, Array.from({ length: 17 }, (_, i) => [reds.get(i) ?? 0, 90, 90] as [number, number, number]));
    runs = 0;
    const { scores, ms } = await classifier.score(video);
    expect(runs).toBe(1);
    expect(scores.frames).toEqual([0, 5, 11, 16]);
    const expected = [40, 128, 200, 255].map((r) => sigmoid(20 * (r / 255 - 0.5)));
    scores.perFrame.forEach((row, i) => expect(row[0]).toBeCloseTo(expected[i]!, 5));
    expect(scores.byLabel.red).toBeCloseTo(sigmoid(20 * 0.5), 5);
    console.log(`safety fixture scores: ${scores.perFrame.map((r) => r[0]!.toFixed(5)).join(', ')} (closed form ${expected.map((v) => v.toFixed(5)).join(', ')}); ${ms.toFixed(2)} ms`);
    // A half-red frame: mean red 0.5·200/255 = 0.392 → 0.1028; the resize keeps the mean.
    const half = solidFrames(32, 32, [[0, 0, 0]], 1);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 16; x++) half.frames[0]![(y * 32 + x) * 3] = 200;
    const halfScore = (await classifier.score(half)).scores.byLabel.red!;
    expect(halfScore).toBeCloseTo(sigmoid(20 * (100 / 255 - 0.5)), 4);
  });

  it('runs a batch-1 graph one frame per run, and reads NHWC graphs and several labels', async () => {
    const fx = await buildFixtureClassifier(path.join(dir, 'one'), { batch: 1, layout: 'NHWC', labels: { red: 0, blue: 2 }, thresholds: { blue: 0.7 }, framesSampled: 3, level: 0.4, k: 10 });
    const classifier = await SafetyClassifier.load(await readSafetyModel(fx.dir, 'daemon', ''), counting);
    const video = solidFrames(24, 16, [[255, 0, 0], [0, 0, 255], [128, 128, 128]], 5);
    runs = 0;
    const { scores } = await classifier.score(video);
    expect(runs).toBe(3);
    expect(scores.frames).toEqual([0, 2, 4]);
    // frames 0, 2, 4 are red, grey, grey (colours cycle: red, blue, grey, red, blue).
    const colours = [[255, 0, 0], [128, 128, 128], [0, 0, 255]];
    scores.perFrame.forEach((row, i) => {
      expect(row[0]).toBeCloseTo(sigmoid(10 * (colours[i]![0]! / 255 - 0.4)), 5);
      expect(row[1]).toBeCloseTo(sigmoid(10 * (colours[i]![2]! / 255 - 0.4)), 5);
    });
    // Only "blue" has a threshold: red at 0.9975 never withholds; blue at 0.9975 (frame 4) does.
    const verdict = judge(scores, classifier.config);
    expect(verdict.withheld).toBe(true);
    expect(verdict.flagged.map((f) => f.label)).toEqual(['blue']);
    expect(judge(scores, { thresholds: { blue: 0.999 } }).withheld).toBe(false);
  });

  it('refuses a graph that does not match config.json, naming the file and both shapes', async () => {
    const fx = await buildFixtureClassifier(path.join(dir, 'mismatch'), { inputSize: [16, 16], config: { input_size: [32, 32] } });
    const model = await readSafetyModel(fx.dir, 'package', 'safety/');
    await expect(SafetyClassifier.load(model, counting)).rejects.toThrow(
      'safety/model.onnx: input "pixel_values" is [N, 3, 16, 16], but config.json says NCHW 32×32 ([batch, 3, 32, 32]); fix input_size or layout',
    );
    const labels = await buildFixtureClassifier(path.join(dir, 'labels'), { config: { labels: ['red', 'other'] } });
    await expect(SafetyClassifier.load(await readSafetyModel(labels.dir, 'package', 'safety/'), counting)).rejects.toThrow(
      'safety/model.onnx: output "scores" gives 1 scores per frame, but config.json lists 2 labels (red, other)',
    );
    const named = await buildFixtureClassifier(path.join(dir, 'named'), { config: { input_name: 'image' } });
    await expect(SafetyClassifier.load(await readSafetyModel(named.dir, 'package', 'safety/'), counting)).rejects.toThrow(
      'safety/model.onnx: has no input "image" (config.json input_name); its inputs: pixel_values',
    );
  });

  it('costs little per clip: 4 of 17 frames of 128×128 at 64×64 (bench line)', async () => {
    const fx = await buildFixtureClassifier(path.join(dir, 'bench'), { inputSize: [64, 64] });
    const classifier = await SafetyClassifier.load(await readSafetyModel(fx.dir, 'package', 'safety/'), counting);
    const video = solidFrames(128, 128, [[30, 60, 90]], 17);
    await classifier.score(video); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 10; i++) times.push((await classifier.score(video)).ms);
    times.sort((a, b) => a - b);
    console.log(`safety check per clip (4 of 17 frames, 128×128 → 64×64, fixture graph): median ${times[5]!.toFixed(2)} ms, max ${times[9]!.toFixed(2)} ms`);
    // Generous: a loaded 2-core machine; what matters is the printed figure.
    expect(times[5]!).toBeLessThan(500);
  });
});

describe('verdict', () => {
  it('withholds at or over a threshold, by the highest margin first; labels without a threshold never withhold', () => {
    const scores = scoresFrom(Float32Array.from([0.2, 0.9, 0.1, 0.6, 0.3, 0.2]), [0, 4], ['a', 'b', 'c'], 'none');
    expect(scores.byLabel).toEqual({ a: expect.closeTo(0.6, 6), b: expect.closeTo(0.9, 6), c: expect.closeTo(0.2, 6) });
    expect(judge(scores, { thresholds: { a: 0.6, b: 0.5 } }).flagged.map((f) => f.label)).toEqual(['b', 'a']);
    expect(judge(scores, { thresholds: { a: 0.61, c: 0.9 } }).withheld).toBe(false);
    const soft = scoresFrom(Float32Array.from([0, Math.log(3)]), [0], ['x', 'y'], 'softmax');
    expect(soft.perFrame[0]).toEqual([expect.closeTo(0.25, 6), expect.closeTo(0.75, 6)]);
    expect(scoresFrom(Float32Array.from([0]), [0], ['x'], 'sigmoid').byLabel.x).toBe(0.5);
  });
});
