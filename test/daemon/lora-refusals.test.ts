// What the daemon refuses about styles, and the words it uses: broken adapters refuse the package at load naming the
// file and the module or field (a target with no initializer, a rank that disagrees with r, an out dimension that
// disagrees with the weight, an oversized or malformed safetensors header, a bad folder name, a config PEFT would not
// merge as W + scale·B·A), and requests naming an unknown style or a strength outside 0..2.
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelInvalidError } from '../../inference/errors.ts';
import { readModelPackage } from '../../inference/model/package.ts';
import { LoraError } from '../../inference/model/lora/errors.ts';
import { readPackageStyles } from '../../inference/model/lora/styles.ts';
import { validateGenerateRequest } from '../../inference/server/validate.ts';
import type { GenerateRequest__Output } from '../../shared/rpc/types.ts';
import { buildLoraFixturePackage, defaultStyles, type FixtureStyle, type LoraFixtureOptions } from '../fixtures/lora-fixture.ts';

let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lora-refusals-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function build(options: LoraFixtureOptions = {}): Promise<string> {
  const dir = path.join(root, `p${n++}`);
  await buildLoraFixturePackage(dir, options);
  return dir;
}

async function refusal(dir: string): Promise<string> {
  const err = await readModelPackage(dir).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelInvalidError);
  expect((err as ModelInvalidError).code).toBe('MODEL_INVALID');
  return (err as ModelInvalidError).message;
}

const ink = (): FixtureStyle => defaultStyles()[0]!;
const PREFIX = 'model "fixture" is not usable: ';

describe('adapters refused at package load', () => {
  it('a target module with no matching initializer, naming the module and where it was looked for', async () => {
    const style: FixtureStyle = {
      ...ink(),
      config: { target_modules: ['proj', 'mix', 'to_q'] },
      extraTensors: {
        'base_model.model.blocks.0.attn1.to_q.lora_A.weight': { dtype: 'F32', shape: [2, 4], values: new Array(8).fill(0.5) },
        'base_model.model.blocks.0.attn1.to_q.lora_B.weight': { dtype: 'F32', shape: [4, 2], values: new Array(8).fill(0.5) },
      },
    };
    expect(await refusal(await build({ styles: [style] }))).toBe(
      `${PREFIX}loras/ink/adapter_model.safetensors: target module "blocks.0.attn1.to_q" has no matching initializer in transformer/model.onnx (no initializer "blocks.0.attn1.to_q.weight", and transformer/parameter_map.json does not list "blocks.0.attn1.to_q.weight")`,
    );
  });

  it('an anonymous MatMul weight without transformer/parameter_map.json', async () => {
    expect(await refusal(await build({ parameterMap: false }))).toBe(
      `${PREFIX}loras/ink/adapter_model.safetensors: target module "mix" has no matching initializer in transformer/model.onnx (no initializer "mix.weight", and the package has no transformer/parameter_map.json to say where it is)`,
    );
  });

  it('a rank that disagrees with adapter_config.json r', async () => {
    expect(await refusal(await build({ styles: [{ ...ink(), config: { r: 3 } }] }))).toBe(
      `${PREFIX}loras/ink/adapter_model.safetensors: lora_A of "mix" is [2, 4]; expected [r, in] with r = 3 (loras/ink/adapter_config.json)`,
    );
  });

  it('factors whose B·A is not the shape of the weight they update', async () => {
    const style: FixtureStyle = { name: 'wide', r: 1, alpha: 1, modules: { proj: { A: [1, 0, 0, 0], B: [1, 1, 1, 1, 1, 1] } } };
    expect(await refusal(await build({ styles: [style] }))).toBe(
      `${PREFIX}loras/wide/adapter_model.safetensors: module "proj": B·A is [6, 4], but its initializer "proj.weight" in transformer/model.onnx is [4, 4]; expected [6, 4]`,
    );
  });

  it('a safetensors header larger than the bound, before reading it', async () => {
    const dir = await build();
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n);
    await writeFile(path.join(dir, 'loras/neon/adapter_model.safetensors'), huge);
    expect(await refusal(dir)).toBe(`${PREFIX}loras/neon/adapter_model.safetensors: says its JSON header is 1099511627776 bytes; at most 1048576 allowed`);
  });

  it('a safetensors file cut short inside its header', async () => {
    const dir = await build();
    const cut = Buffer.alloc(20);
    cut.writeBigUInt64LE(100n);
    await writeFile(path.join(dir, 'loras/ink/adapter_model.safetensors'), cut);
    expect(await refusal(dir)).toBe(`${PREFIX}loras/ink/adapter_model.safetensors: says its JSON header is 100 bytes but the file has only 12 after the length (cut short?)`);
  });

  it('a transformer over 2 GiB, named with the limit before it is read (not Node\'s unnamed ERR_FS_FILE_TOO_LARGE)', async () => {
    const dir = await build();
    const transformer = (await readModelPackage(dir)).onnx.denoiser;
    // A sparse file: 2 GiB on paper, no disk used, and refused from its size alone.
    await truncate(transformer, 2 ** 31);
    const err = await readPackageStyles(dir, transformer).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LoraError);
    expect((err as LoraError).code).toBe('LORA_ONNX_UNSUPPORTED');
    expect((err as LoraError).message).toBe(
      'transformer/model.onnx: is 2147483648 bytes (2.0 GiB); styles (loras/) need a transformer of at most 2147483647 bytes (2 GiB, the most read into memory at once) with its weights inside the file; remove loras/ from this package, or use a smaller transformer',
    );
  });

  it('a folder name that cannot be a style name', async () => {
    expect(await refusal(await build({ styles: [{ ...ink(), name: 'Ink Wash' }] }))).toBe(
      `${PREFIX}loras/Ink Wash: is not a style name; allowed: lower-case letters, digits, "-" and "_", 1 to 32 characters, starting with a letter or digit`,
    );
  });

  it('configs the merge cannot honour: DoRA, a missing r, a module outside target_modules', async () => {
    expect(await refusal(await build({ styles: [{ ...ink(), config: { use_dora: true } }] }))).toBe(
      `${PREFIX}loras/ink/adapter_config.json: use_dora: DoRA adapters (use_dora: true) cannot be merged as W + scale·B·A; train a plain LoRA`,
    );
    const noR = await refusal(await build({ styles: [{ ...ink(), config: { r: undefined } }] }));
    expect(noR).toBe(`${PREFIX}loras/ink/adapter_config.json: r: Invalid input: expected number, received undefined`);
    expect(await refusal(await build({ styles: [{ ...ink(), config: { target_modules: ['proj'] } }] }))).toBe(
      `${PREFIX}loras/ink/adapter_config.json: module "mix" has factors in loras/ink/adapter_model.safetensors but is not in target_modules`,
    );
  });
});

describe('requests', () => {
  let styled: Awaited<ReturnType<typeof readModelPackage>>;
  let plain: Awaited<ReturnType<typeof readModelPackage>>;
  const request = (extra: Partial<GenerateRequest__Output>): GenerateRequest__Output =>
    ({ prompt: 'a red ball', negativePrompt: '', aspect: '', model: '', formats: [], requestId: '', scheduler: '', style: '', imageMimeType: '', ...extra }) as GenerateRequest__Output;
  const validate = (pkg: typeof styled, extra: Partial<GenerateRequest__Output>) => validateGenerateRequest(request(extra), pkg, () => 'id-1');

  beforeAll(async () => {
    styled = await readModelPackage(await build());
    const dir = path.join(root, 'plain');
    await buildLoraFixturePackage(dir, { styles: [] });
    plain = await readModelPackage(dir);
  });

  it('carry a known style at strength 1 by default, or the strength sent, kept at the wire\'s step of 0.05 (what Done reports)', () => {
    expect(validate(styled, {}).style).toBeUndefined();
    expect(validate(styled, { style: 'ink' }).style).toEqual({ name: 'ink', strength: 1 });
    expect(validate(styled, { style: 'neon', styleStrength: Math.fround(0.7) }).style).toEqual({ name: 'neon', strength: 0.7 });
    expect(validate(styled, { style: 'neon', styleStrength: 0 }).style).toEqual({ name: 'neon', strength: 0 });
    expect(validate(styled, { style: 'neon', styleStrength: Math.fround(1.33) }).style).toEqual({ name: 'neon', strength: 1.35 });
    expect(validate(styled, { style: 'neon', styleStrength: Math.fround(1.002) }).style).toEqual({ name: 'neon', strength: 1 });
    // The range is the value as sent: 2.0004 is float noise around 2; 2.01 is out, named as sent (not as 2 or 2.05).
    expect(validate(styled, { style: 'neon', styleStrength: 2.0004 }).style).toEqual({ name: 'neon', strength: 2 });
    expect(() => validate(styled, { style: 'ink', styleStrength: Math.fround(2.01) })).toThrow('style_strength: 2.01 is out of range; allowed: a number from 0 to 2');
  });

  it('are refused for an unknown style, naming the model and its styles', () => {
    expect(() => validate(styled, { style: 'chalk' })).toThrow('style: "chalk" is not a style of model "fixture"; its styles: ink, neon');
    expect(() => validate(plain, { style: 'ink' })).toThrow('style: "ink" is not a style of model "fixture"; it has no styles');
  });

  it('are refused for a strength outside 0..2, or a strength without a style', () => {
    expect(() => validate(styled, { style: 'ink', styleStrength: 2.5 })).toThrow('style_strength: 2.5 is out of range; allowed: a number from 0 to 2');
    expect(() => validate(styled, { style: 'ink', styleStrength: -0.25 })).toThrow('style_strength: -0.25 is out of range; allowed: a number from 0 to 2');
    expect(() => validate(styled, { styleStrength: 1 })).toThrow("style_strength: is set but no style is given; name one of the model's styles in style, or leave style_strength out");
  });
});
