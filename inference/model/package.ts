// Reads and validates a model package folder (diffusers / Optimum ONNX layout, see docs/model-package.md).
// Every problem names the file, key, input or shape at fault, relative to the package, and the package by name.
// ONNX graphs are only located here; ModelRegistry has onnxruntime check them (session-check.ts).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelInvalidError } from '../errors.ts';
import { defaultSchedulerName, type SchedulerName } from '../schedulers/index.ts';
import { describeZodError, modelIndexSchema, previewFactorsSchema, type AnimateSection, type PreviewFactors } from './manifest.ts';
import { PromptTokenizer } from './tokenizer.ts';

export type ComponentName = 'text_encoder' | 'denoiser' | 'vae_decoder' | 'preview_decoder';

export interface ModelPackage {
  name: string;
  dir: string;
  /** sha256 over every file of the package (relative path + bytes), in path order. */
  hash: string;
  config: AnimateSection;
  schedulerConfig: Record<string, unknown>;
  defaultScheduler: SchedulerName;
  tokenizer: PromptTokenizer;
  previewFactors: PreviewFactors | undefined;
  /** Absolute paths of the ONNX graphs. */
  onnx: Record<Exclude<ComponentName, 'preview_decoder'>, string> & { preview_decoder?: string };
}

/** The package's name as known so far: the folder's until model_index.json says otherwise. */
interface Where {
  dir: string;
  name: string;
}

function invalid(at: Where, problem: string, cause?: unknown): ModelInvalidError {
  return new ModelInvalidError(at.dir, problem, { name: at.name, cause });
}

async function readJson(at: Where, rel: string): Promise<unknown> {
  const file = path.join(at.dir, rel);
  if (!existsSync(file)) throw invalid(at, `${rel} is missing`);
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalid(at, `${rel} is not valid JSON (${(err as Error).message})`, err);
  }
}

function requireFile(at: Where, candidates: string[]): string {
  for (const rel of candidates) {
    const file = path.join(at.dir, rel);
    if (existsSync(file)) return file;
  }
  throw invalid(at, `${candidates.join(' or ')} is missing`);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

export async function hashPackage(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const rel of await listFiles(dir)) {
    hash.update(rel);
    hash.update(await readFile(path.join(dir, rel)));
  }
  return hash.digest('hex');
}

export async function readModelPackage(dir: string): Promise<ModelPackage> {
  const absDir = path.resolve(dir);
  const at: Where = { dir: absDir, name: path.basename(absDir) };
  if (!existsSync(absDir) || !(await stat(absDir)).isDirectory()) throw invalid(at, 'the folder does not exist');

  const index = modelIndexSchema.safeParse(await readJson(at, 'model_index.json'));
  if (!index.success) throw invalid(at, `model_index.json: ${describeZodError(index.error)}`);
  at.name = index.data.name ?? at.name;
  const config = index.data.animate;
  for (const key of ['latents_mean', 'latents_std'] as const) {
    const values = config[key];
    if (values && values.length !== config.latent_channels) {
      throw invalid(at, `model_index.json: animate.${key} has ${values.length} values, expected latent_channels = ${config.latent_channels}`);
    }
  }

  const tokenizerJson = (await readJson(at, 'tokenizer/tokenizer.json')) as Record<string, unknown>;
  const tokenizerConfig = existsSync(path.join(absDir, 'tokenizer/tokenizer_config.json'))
    ? ((await readJson(at, 'tokenizer/tokenizer_config.json')) as Record<string, unknown>)
    : undefined;
  let tokenizer: PromptTokenizer;
  try {
    tokenizer = new PromptTokenizer(tokenizerJson, tokenizerConfig, config.max_text_length, config.pad_token_id);
  } catch (err) {
    throw invalid(at, `tokenizer/tokenizer.json cannot be loaded (${(err as Error).message})`, err);
  }

  const schedulerConfig = (await readJson(at, 'scheduler/scheduler_config.json')) as Record<string, unknown>;
  let defaultScheduler: SchedulerName;
  try {
    defaultScheduler = defaultSchedulerName(schedulerConfig);
  } catch (err) {
    throw invalid(at, `scheduler/scheduler_config.json: ${(err as Error).message}`, err);
  }

  let previewFactors: PreviewFactors | undefined;
  if (existsSync(path.join(absDir, 'preview/latent_rgb.json'))) {
    const parsed = previewFactorsSchema.safeParse(await readJson(at, 'preview/latent_rgb.json'));
    if (!parsed.success) throw invalid(at, `preview/latent_rgb.json: ${describeZodError(parsed.error)}`);
    if (parsed.data.factors.length !== config.latent_channels) {
      throw invalid(at, `preview/latent_rgb.json has ${parsed.data.factors.length} factor rows, expected latent_channels = ${config.latent_channels}`);
    }
    previewFactors = parsed.data;
  }

  const previewModel = path.join(absDir, 'preview/model.onnx');
  const onnx: ModelPackage['onnx'] = {
    text_encoder: requireFile(at, ['text_encoder/model.onnx']),
    denoiser: requireFile(at, ['transformer/model.onnx', 'unet/model.onnx']),
    vae_decoder: requireFile(at, ['vae_decoder/model.onnx']),
    ...(existsSync(previewModel) ? { preview_decoder: previewModel } : {}),
  };

  return {
    name: at.name,
    dir: absDir,
    hash: await hashPackage(absDir),
    config,
    schedulerConfig,
    defaultScheduler,
    tokenizer,
    previewFactors,
    onnx,
  };
}
