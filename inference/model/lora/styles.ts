// A package's styles: each sub-folder of loras/ is one, in the format PEFT writes (adapter_config.json +
// adapter_model.safetensors) with our animate_style.json beside it (description, example prompt). All of them are
// read and checked against the transformer at package load (docs/model-package.md "loras/"), so a broken adapter
// refuses the package with the file and field at fault, never a request later. The checked merge plans are kept:
// a style's session is built from them on demand (style-sessions.ts).
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../../errors.ts';
import { excerpt } from '../../excerpt.ts';
import { LoraError, LoraErrorCode } from './errors.ts';
import { planMerge, type MergePlan } from './merge.ts';
import { indexInitializers, readOnnxFile, type InitializerIndex } from './onnx-initializers.ts';
import { PARAMETER_MAP_FILE, parseParameterMap, type ParameterMap } from './parameter-map.ts';
import { parseAdapterConfig, parseStyleCard } from './peft-config.ts';
import { readSafetensors } from './safetensors.ts';

/** A style's name as requests carry it: lower case, digits, "-" and "_", starting with a letter or digit (fits chat commands). */
export const STYLE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const STYLE_NAME_RULE = 'lower-case letters, digits, "-" and "_", 1 to 32 characters, starting with a letter or digit';

/** The weights file a style changes: the (first) transformer; transformer_2 of two-expert packages is left as it is. */
export const STYLED_COMPONENT = 'denoiser' as const;

export interface PackageStyle {
  name: string;
  description: string;
  examplePrompt: string;
  /** The checked merge onto transformer/model.onnx. */
  plan: MergePlan;
}

async function readJsonFile(file: string, label: string): Promise<unknown> {
  if (!existsSync(file)) throw new LoraError(LoraErrorCode.ConfigInvalid, label, 'is missing');
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new LoraError(LoraErrorCode.ConfigInvalid, label, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** Package-relative POSIX name of a file, for messages. */
function rel(pkgDir: string, file: string): string {
  return path.relative(pkgDir, file).split(path.sep).join('/');
}

/**
 * The style `name` of a model, or INVALID_ARGUMENT naming the model and what its styles are: one answer for the
 * request's validation, the pipeline's own check (CLIs and the bench call it directly) and the session cache.
 */
export function findStyle(model: { name: string; styles: readonly PackageStyle[] }, name: string): PackageStyle {
  const found = model.styles.find((s) => s.name === name);
  if (found) return found;
  const known = model.styles.map((s) => s.name);
  throw new InvalidArgumentError('style', `"${excerpt(name)}" is not a style of model "${model.name}"; ${known.length ? `its styles: ${known.join(', ')}` : 'it has no styles'}`);
}

/**
 * The styles under `<pkgDir>/loras/`, sorted by name, each checked against `transformerFile`; [] without loras/.
 * Throws a LoraError naming the package file at fault.
 */
export async function readPackageStyles(pkgDir: string, transformerFile: string): Promise<PackageStyle[]> {
  const root = path.join(pkgDir, 'loras');
  if (!existsSync(root)) return [];
  const folders = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (folders.length === 0) return [];
  const onnxLabel = rel(pkgDir, transformerFile);
  // Its size checked before it is read (readOnnxFile): a transformer over 2 GiB is refused naming the file and the limit.
  const index: InitializerIndex = indexInitializers(await readOnnxFile(transformerFile, onnxLabel), onnxLabel);
  const mapFile = path.join(path.dirname(transformerFile), PARAMETER_MAP_FILE);
  const mapLabel = rel(pkgDir, mapFile);
  let parameterMap: ParameterMap | undefined;
  if (existsSync(mapFile)) parameterMap = parseParameterMap(await readJsonFile(mapFile, mapLabel), index, mapLabel);
  const styles: PackageStyle[] = [];
  for (const name of folders) {
    const dir = path.join(root, name);
    if (!STYLE_NAME.test(name)) throw new LoraError(LoraErrorCode.ConfigInvalid, rel(pkgDir, dir), `is not a style name; allowed: ${STYLE_NAME_RULE}`);
    const labels = { adapter: rel(pkgDir, path.join(dir, 'adapter_model.safetensors')), config: rel(pkgDir, path.join(dir, 'adapter_config.json')), onnx: onnxLabel, parameterMap: mapLabel };
    const config = parseAdapterConfig(await readJsonFile(path.join(dir, 'adapter_config.json'), labels.config), labels.config);
    if (!existsSync(path.join(dir, 'adapter_model.safetensors'))) throw new LoraError(LoraErrorCode.ConfigInvalid, labels.adapter, 'is missing');
    const adapter = await readSafetensors(path.join(dir, 'adapter_model.safetensors'), labels.adapter);
    const cardFile = path.join(dir, 'animate_style.json');
    const card = parseStyleCard(existsSync(cardFile) ? await readJsonFile(cardFile, rel(pkgDir, cardFile)) : {}, rel(pkgDir, cardFile));
    const plan = planMerge({ adapter, config, labels, index, parameterMap });
    styles.push({ name, description: card.description, examplePrompt: card.example_prompt, plan });
  }
  return styles;
}
