// The generation half of the eval's style table (styles.ts holds the checks and the table): which styles of the
// daemon's model to run, and each prompt and seed made again with each of them, scored by the adherence checks and
// the look checks. Kept apart from run-eval.ts so that its loop gains one call per prompt.
import { judgeClip, type Frames } from './checks.ts';
import { generateClip, type GenerateOptions } from './generate.ts';
import { score } from './report.ts';
import { judgeLooks, LOOK_CHECKS, type StyledClip } from './styles.ts';
import type { EvalCase, World } from './world.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';

/**
 * The styles to run: `requested` is the --styles flag (a comma-separated list, "none", or absent: every style of the
 * model that has a look check). A requested style the model lacks, or one without a look check, is an error naming
 * what is allowed.
 */
export async function chooseStyles(address: string, requested: string | undefined, modelName?: string): Promise<string[]> {
  if (requested?.trim() === 'none') return [];
  const client = connectAnimator(address);
  let names: string[];
  try {
    const { models, defaultModel } = await client.listModels();
    const model = models.find((m) => m.name === (modelName ?? defaultModel)) ?? models[0];
    names = (model?.styles ?? []).map((s) => s.name);
  } finally {
    client.close();
  }
  const checked = names.filter((n) => LOOK_CHECKS[n]);
  if (requested === undefined) return checked;
  const list = requested.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!names.includes(s)) throw new Error(`--styles: "${s}" is not a style of the model; its styles: ${names.join(', ') || 'none'}`);
    if (!LOOK_CHECKS[s]) throw new Error(`--styles: "${s}" has no look check; checked looks: ${Object.keys(LOOK_CHECKS).join(', ')}`);
  }
  return list;
}

/** The base clip (already made) as a row of the style table: its verdict and every look check on it. */
export function baseStyledClip(world: World, c: EvalCase, clip: Frames, styles: string[]): StyledClip {
  return { scored: score(c, judgeClip(world, clip)), looks: judgeLooks(clip, styles) };
}

/** The same prompt and seed with each style (strength 1), scored; `generate` holds the base clip's settings. */
export async function styledClips(
  address: string,
  world: World,
  c: EvalCase,
  generate: Omit<GenerateOptions, 'prompt' | 'style' | 'styleStrength'>,
  styles: string[],
): Promise<Record<string, { styled: StyledClip; clip: Frames }>> {
  const out: Record<string, { styled: StyledClip; clip: Frames }> = {};
  for (const style of styles) {
    const clip = await generateClip(address, { ...generate, prompt: c.prompt, style });
    out[style] = { clip, styled: baseStyledClip(world, c, clip, styles) };
  }
  return out;
}
