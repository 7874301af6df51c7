// Reads and validates a model package folder (diffusers / Optimum ONNX layout, see docs/model-package.md).
// Every problem names the file, key, input or shape at fault, relative to the package, and the package by name.
// ONNX graphs are only located here; ModelRegistry has onnxruntime check them (session-check.ts).
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelInvalidError } from '../errors.ts';
import { defaultSchedulerName, type SchedulerName } from '../schedulers/index.ts';
import { externalDataProblem } from './external-data.ts';
import { hashFolder } from './folder-hash.ts';
import { describeZodError, modelIndexSchema, previewFactorsSchema, type AnimateSection, type PreviewFactors } from './manifest.ts';
import { PromptTokenizer } from './tokenizer.ts';
import { LoraError } from './lora/errors.ts';
import { readPackageStyles, type PackageStyle } from './lora/styles.ts';
import { readSafetyModel, type SafetyModel } from '../safety/classifier.ts';
import { SafetyError } from '../safety/errors.ts';

/** denoiser_2 is transformer_2/ (Wan2.2 A14B's low-noise expert); vae_encoder turns an image into the first latent frame. */
export type ComponentName = 'text_encoder' | 'denoiser' | 'denoiser_2' | 'vae_decoder' | 'vae_encoder' | 'preview_decoder';
type OptionalComponent = 'preview_decoder' | 'vae_encoder' | 'denoiser_2';

export interface ModelPackage {
  name: string;
  dir: string;
  /** sha256 over every file of the package (relative path + bytes), in path order; empty when read with { hash: false }. */
  hash: string;
  config: AnimateSection;
  schedulerConfig: Record<string, unknown>;
  defaultScheduler: SchedulerName;
  tokenizer: PromptTokenizer;
  previewFactors: PreviewFactors | undefined;
  /** Absolute paths of the ONNX graphs. */
  onnx: Record<Exclude<ComponentName, OptionalComponent>, string> & Partial<Record<OptionalComponent, string>>;
  /** Styles: the LoRA adapters under loras/<name>/, checked against the transformer (lora/styles.ts); [] without loras/. */
  styles: PackageStyle[];
  /** The package's output safety classifier (safety/model.onnx + safety/config.json), when it has one: inference/safety/. */
  safety?: SafetyModel | undefined;
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

/** Whether a request may carry an image for this package: it has a vae_encoder/ to put it into the first latent frame. */
export function acceptsImage(pkg: Pick<ModelPackage, 'onnx'>): boolean {
  return pkg.onnx.vae_encoder !== undefined;
}

/** The package's content hash (every file, sub-folders included): provenance tags and session keys. */
export function hashPackage(dir: string): Promise<string> {
  return hashFolder(dir, { recursive: true });
}

/** How much of a package to read: `hash: false` skips the content hash (every byte of every weight file), for callers
 * that only print its limits and styles, such as `animate --help`; the package's `hash` is then empty. */
export interface ReadPackageOptions {
  hash: boolean;
}

export async function readModelPackage(dir: string, options: ReadPackageOptions = { hash: true }): Promise<ModelPackage> {
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

  const optional = (rel: string): string | undefined => (existsSync(path.join(absDir, rel)) ? path.join(absDir, rel) : undefined);
  const previewModel = optional('preview/model.onnx');
  const vaeEncoder = optional('vae_encoder/model.onnx');
  const transformer2 = optional('transformer_2/model.onnx');
  const onnx: ModelPackage['onnx'] = {
    text_encoder: requireFile(at, ['text_encoder/model.onnx']),
    denoiser: requireFile(at, ['transformer/model.onnx', 'unet/model.onnx']),
    vae_decoder: requireFile(at, ['vae_decoder/model.onnx']),
    ...(previewModel ? { preview_decoder: previewModel } : {}),
    ...(vaeEncoder ? { vae_encoder: vaeEncoder } : {}),
    ...(transformer2 ? { denoiser_2: transformer2 } : {}),
  };
  checkWanSettings(at, config, transformer2 !== undefined);
  for (const file of Object.values(onnx)) {
    const problem = await externalDataProblem(absDir, file);
    if (problem) throw invalid(at, problem);
  }
  let styles: PackageStyle[];
  try {
    styles = await readPackageStyles(absDir, onnx.denoiser);
  } catch (err) {
    if (err instanceof LoraError) throw invalid(at, err.message, err);
    throw err;
  }
  let safety: SafetyModel | undefined;
  if (existsSync(path.join(absDir, 'safety'))) {
    try {
      safety = await readSafetyModel(path.join(absDir, 'safety'), 'package', 'safety/');
    } catch (err) {
      if (err instanceof SafetyError) throw invalid(at, err.message, err);
      throw err;
    }
  }

  return {
    name: at.name,
    dir: absDir,
    hash: options.hash ? await hashPackage(absDir) : '',
    config,
    schedulerConfig,
    defaultScheduler,
    tokenizer,
    previewFactors,
    onnx,
    styles,
    ...(safety ? { safety } : {}),
  };
}

/**
 * The settings that only make sense together (docs/model-package.md "Wan2.x settings"): a second transformer and
 * its boundary, and the size grid the VAE and the patches need (a side must be a multiple of factor × patch).
 */
function checkWanSettings(at: Where, config: AnimateSection, hasTransformer2: boolean): void {
  if (hasTransformer2 && config.boundary_ratio === undefined) {
    throw invalid(at, 'transformer_2/model.onnx is present but model_index.json has no animate.boundary_ratio (the fraction of num_train_timesteps below which transformer_2 takes over, e.g. 0.875)');
  }
  if (!hasTransformer2 && config.boundary_ratio !== undefined) {
    throw invalid(at, `model_index.json: animate.boundary_ratio is ${config.boundary_ratio} but transformer_2/model.onnx is missing`);
  }
  if (config.guidance_scale_2 !== undefined && config.boundary_ratio === undefined) {
    throw invalid(at, 'model_index.json: animate.guidance_scale_2 is set but there is no transformer_2 (animate.boundary_ratio); remove it');
  }
  const s = config.vae_scale_factor_spatial;
  const [, ph, pw] = config.patch_size;
  const grid = lcm(s * ph, s * pw);
  const { size_multiple: multiple, min_side: minSide } = config.limits;
  if (multiple % grid !== 0) {
    throw invalid(at, `model_index.json: animate.limits.size_multiple is ${multiple}, but sides must be multiples of vae_scale_factor_spatial × patch_size = ${grid} (${s} × ${Math.max(ph, pw)}); use a multiple of ${grid}`);
  }
  if (minSide < grid) throw invalid(at, `model_index.json: animate.limits.min_side is ${minSide}, below the smallest side the model can take (${grid})`);
  for (const key of ['width', 'height'] as const) {
    const side = config.defaults[key];
    if (side % grid !== 0) throw invalid(at, `model_index.json: animate.defaults.${key} is ${side}, not a multiple of vae_scale_factor_spatial × patch_size = ${grid}`);
  }
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}
