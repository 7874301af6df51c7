// One output safety classifier: a folder with model.onnx and config.json (classifier-config.ts), read and checked,
// and run through the daemon's one onnxruntime backend in its worker thread (backend/onnx.ts via the worker client,
// like every model component) on a clip's sampled frames. It only scores; verdict.ts decides.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TensorData } from '../backend/onnx.ts';
import { hashFolder } from '../model/folder-hash.ts';
import type { RgbFrames } from '../pipeline/frames.ts';
import type { SessionInfo } from '../worker/onnx-worker-client.ts';
import { readSafetyConfig, type SafetyConfig } from './classifier-config.ts';
import { SafetyError, SafetyErrorCode } from './errors.ts';
import { framesToInput, sampleFrameIndices } from './frame-input.ts';
import { scoresFrom, type SafetyScores } from './verdict.ts';

/** What a classifier folder holds, read and validated, before onnxruntime has seen the graph. */
export interface SafetyModel {
  /** Where it comes from, for logs and messages: a package's safety/ or the daemon's ANIMATE_SAFETY_MODEL_DIR. */
  source: 'package' | 'daemon';
  dir: string;
  modelPath: string;
  config: SafetyConfig;
  /** sha256 over the folder's files: the session key, so two packages with one classifier share a session. */
  hash: string;
  /** How files are named in messages: "safety/" in a package, "" for the daemon's folder (its setting names it). */
  prefix: string;
}

/** The worker client's calls this needs (onnx-worker-client.ts), so tests can count runs. */
export interface SafetyWorker {
  load(key: string, modelPath: string): Promise<SessionInfo>;
  run(key: string, feeds: Record<string, TensorData>): Promise<{ outputs: Record<string, TensorData>; runMs: number }>;
}

/** Reads `dir` (model.onnx + config.json); `prefix` names its files in messages ("safety/" or ""). */
export async function readSafetyModel(dir: string, source: SafetyModel['source'], prefix: string): Promise<SafetyModel> {
  const modelPath = path.join(dir, 'model.onnx');
  if (!existsSync(modelPath)) throw new SafetyError(SafetyErrorCode.ModelInvalid, `${prefix}model.onnx`, 'is missing (the classifier graph; config.json says how to feed it)');
  const config = await readSafetyConfig(path.join(dir, 'config.json'), `${prefix}config.json`);
  return { source, dir, modelPath, config, hash: await hashFolder(dir, { recursive: false }), prefix };
}

export interface ClassifierRun {
  scores: SafetyScores;
  /** Time spent scoring, ms: resize + session runs (what the check adds to a clip). */
  ms: number;
}

export class SafetyClassifier {
  private constructor(
    readonly model: SafetyModel,
    private readonly worker: SafetyWorker,
    private readonly key: string,
    private readonly inputName: string,
    private readonly outputName: string,
    /** The graph's batch dimension is fixed at 1: frames go one run each. */
    private readonly oneFramePerRun: boolean,
  ) {}

  /** Loads the graph into the worker and checks its input and output against config.json. */
  static async load(model: SafetyModel, worker: SafetyWorker): Promise<SafetyClassifier> {
    const file = `${model.prefix}model.onnx`;
    const key = `safety:${model.hash}`;
    const info = await worker.load(key, model.modelPath).catch((err: unknown) => {
      throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `cannot be loaded by onnxruntime (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    });
    const { config } = model;
    const pick = (kind: 'input' | 'output', list: SessionInfo['inputs'], wanted: string | undefined) => {
      const names = list.map((v) => v.name);
      if (wanted !== undefined) {
        const found = list.find((v) => v.name === wanted);
        if (!found) throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `has no ${kind} "${wanted}" (config.json ${kind}_name); its ${kind}s: ${names.join(', ')}`);
        return found;
      }
      if (list.length !== 1) throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `has ${list.length} ${kind}s (${names.join(', ')}); name the one to use in config.json ${kind}_name`);
      return list[0]!;
    };
    const input = pick('input', info.inputs, config.input_name);
    const output = pick('output', info.outputs, config.output_name);
    const [h, w] = config.input_size;
    const expected = config.layout === 'NCHW' ? [3, h, w] : [h, w, 3];
    const named = config.layout === 'NCHW' ? 'channels, height, width' : 'height, width, channels';
    if (input.type !== 'float32' && input.type !== 'float16') throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `input "${input.name}" is ${input.type}; a float32 or float16 image input is needed`);
    if (input.shape.length !== 4) throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `input "${input.name}" has ${input.shape.length} dimensions; expected 4 (batch, ${named}: layout ${config.layout})`);
    expected.forEach((size, i) => {
      const dim = input.shape[i + 1];
      if (typeof dim === 'number' && dim !== size) {
        throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `input "${input.name}" is [${input.shape.join(', ')}], but config.json says ${config.layout} ${h}×${w} ([batch, ${expected.join(', ')}]); fix input_size or layout`);
      }
    });
    const classes = output.shape[output.shape.length - 1];
    if (typeof classes === 'number' && classes !== config.labels.length) {
      throw new SafetyError(SafetyErrorCode.ModelInvalid, file, `output "${output.name}" gives ${classes} scores per frame, but config.json lists ${config.labels.length} labels (${config.labels.join(', ')})`);
    }
    return new SafetyClassifier(model, worker, key, input.name, output.name, input.shape[0] === 1);
  }

  get config(): SafetyConfig {
    return this.model.config;
  }

  /** Scores the clip's sampled frames (config.frames_sampled of them), each resized to the input size. */
  async score(video: RgbFrames): Promise<ClassifierRun> {
    const started = performance.now();
    const { config } = this;
    const frames = sampleFrameIndices(video.frames.length, config.frames_sampled);
    const batches = this.oneFramePerRun ? frames.map((f) => [f]) : [frames];
    const rows = new Float32Array(frames.length * config.labels.length);
    let at = 0;
    for (const batch of batches) {
      const { outputs } = await this.worker.run(this.key, { [this.inputName]: framesToInput(video, batch, config) });
      const out = outputs[this.outputName];
      const wanted = batch.length * config.labels.length;
      if (!out || !(out.data instanceof Float32Array) || out.data.length !== wanted) {
        throw new SafetyError(SafetyErrorCode.ModelInvalid, `${this.model.prefix}model.onnx`, `output "${this.outputName}" gave ${out ? out.data.length : 0} float values for ${batch.length} frames; expected ${wanted} (frames × labels)`);
      }
      rows.set(out.data, at);
      at += wanted;
    }
    return { scores: scoresFrom(rows, frames, config.labels, config.activation), ms: performance.now() - started };
  }
}
