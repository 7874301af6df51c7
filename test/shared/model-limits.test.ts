// The model-limit rules are written once (shared/wire/model-limits.ts) and used by both sides: the daemon's
// validateGenerateRequest and the bot core's checkAgainstModel. Here the rules are checked at their edges, each side's
// wording of one violation is checked, and the two sides are run on the same values against the real embedded
// model's package (read from models/tiny-world, and its limits sent to the bot in the wire's shape, as ListModels
// does): one refuses exactly what the other refuses.
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../inference/errors.ts';
import { readModelPackage, type ModelPackage } from '../../inference/model/package.ts';
import { describeLimitViolation, validateGenerateRequest, wireModelDefaults, wireModelLimits } from '../../inference/server/validate.ts';
import { InvalidOptionsError } from '../../bots/core/errors.ts';
import { checkAgainstModel, describeForPerson, OPTION_FOR_FIELD, type AnimateOptions } from '../../bots/core/options.ts';
import { findLimitViolation, framesForDuration, sizeForAspect, type ModelLimits } from '../../shared/wire/model-limits.ts';
import type { GenerateRequest__Output, ModelInfo__Output } from '../../shared/rpc/types.ts';

const limits: ModelLimits = {
  minSteps: 2, maxSteps: 50, minGuidance: 1, maxGuidance: 20, minFrames: 5, maxFrames: 33, temporalFactor: 4, sizeMultiple: 16, minSide: 64, maxSide: 256,
  minFps: 4, maxFps: 30, aspects: ['1:1', '16:9'], maxPromptChars: 10,
};

describe('findLimitViolation', () => {
  it('allows every bound itself and refuses one past it', () => {
    const edges: Array<['steps' | 'guidanceScale' | 'fps', string, number, number]> = [
      ['steps', 'steps', 2, 50],
      ['guidanceScale', 'guidance_scale', 1, 20],
      ['fps', 'fps', 4, 30],
    ];
    for (const [key, field, min, max] of edges) {
      expect(findLimitViolation({ [key]: min }, limits), `${key}=${min}`).toBeUndefined();
      expect(findLimitViolation({ [key]: max }, limits), `${key}=${max}`).toBeUndefined();
      expect(findLimitViolation({ [key]: min - 1 }, limits)).toEqual({ field, rule: 'range', value: min - 1, min, max, integer: key !== 'guidanceScale' });
      expect(findLimitViolation({ [key]: max + 1 }, limits)).toMatchObject({ field, rule: 'range', value: max + 1 });
    }
    expect(findLimitViolation({ frames: 5 }, limits)).toBeUndefined();
    expect(findLimitViolation({ frames: 33 }, limits)).toBeUndefined();
    expect(findLimitViolation({ frames: 37 }, limits)).toMatchObject({ field: 'frames', rule: 'range', min: 5, max: 33 });
  });

  it('guidance may be fractional, the counts may not, and NaN is never in range', () => {
    expect(findLimitViolation({ guidanceScale: 4.5 }, limits)).toBeUndefined();
    expect(findLimitViolation({ steps: 2.5 }, limits)).toMatchObject({ field: 'steps', rule: 'range', integer: true });
    expect(findLimitViolation({ guidanceScale: Number.NaN }, limits)).toMatchObject({ field: 'guidance_scale', rule: 'range' });
  });

  it('frames are 1 + k·temporal factor, with the nearest allowed counts', () => {
    expect(findLimitViolation({ frames: 9 }, limits)).toBeUndefined();
    expect(findLimitViolation({ frames: 10 }, limits)).toEqual({ field: 'frames', rule: 'frames_grid', value: 10, temporalFactor: 4, below: 9, above: 13 });
    expect(findLimitViolation({ frames: 12 }, limits)).toMatchObject({ below: 9, above: 13 });
  });

  it('sides are in range and on the size grid; aspects are listed; prompts are short enough and not empty', () => {
    expect(findLimitViolation({ width: 64, height: 256 }, limits)).toBeUndefined();
    expect(findLimitViolation({ width: 72, height: 64 }, limits)).toEqual({ field: 'width', rule: 'size_grid', value: 72, multiple: 16, min: 64, max: 256 });
    expect(findLimitViolation({ width: 64, height: 272 }, limits)).toMatchObject({ field: 'height', rule: 'range', value: 272, min: 64, max: 256 });
    expect(findLimitViolation({ aspect: '16:9' }, limits)).toBeUndefined();
    expect(findLimitViolation({ aspect: '4:3' }, limits)).toEqual({ field: 'aspect', rule: 'not_listed', value: '4:3', allowed: ['1:1', '16:9'] });
    expect(findLimitViolation({ prompt: 'a'.repeat(10) }, limits)).toBeUndefined();
    expect(findLimitViolation({ prompt: 'a'.repeat(11) }, limits)).toEqual({ field: 'prompt', rule: 'too_long', length: 11, max: 10 });
    expect(findLimitViolation({ negativePrompt: 'b'.repeat(12) }, limits)).toEqual({ field: 'negative_prompt', rule: 'too_long', length: 12, max: 10 });
    expect(findLimitViolation({ prompt: '' }, limits)).toEqual({ field: 'prompt', rule: 'empty' });
  });

  it('reports the first field in the documented order', () => {
    expect(findLimitViolation({ prompt: 'a'.repeat(11), steps: 0, aspect: 'x' }, limits)?.field).toBe('prompt');
    expect(findLimitViolation({ steps: 0, frames: 10, aspect: 'x' }, limits)?.field).toBe('steps');
    expect(findLimitViolation({ frames: 10, fps: 0, aspect: 'x' }, limits)?.field).toBe('frames');
  });

  it('a limit the wire leaves at 0 is not declared, so it is not checked', () => {
    const unset: ModelLimits = { ...limits, maxSteps: 0, maxFrames: 0, maxPromptChars: 0, aspects: [], maxSide: 0 };
    expect(findLimitViolation({ steps: 999, frames: 10, prompt: 'a'.repeat(1000), aspect: '5:1', width: 3 }, unset)).toBeUndefined();
  });

  it('snaps aspect sizes to the grid with the default area, and durations to allowed frame counts', () => {
    expect(sizeForAspect('1:1', limits, { width: 128, height: 128 })).toEqual({ width: 128, height: 128 });
    const wide = sizeForAspect('16:9', limits, { width: 128, height: 128 });
    expect(wide).toEqual({ width: 176, height: 96 });
    expect(framesForDuration(2, 8, 4)).toBe(17);
    expect(framesForDuration(0.01, 8, 4, 5, 33)).toBe(5);
  });
});

describe('each side words one violation for its reader', () => {
  const violation = findLimitViolation({ guidanceScale: 25 }, limits)!;
  it('the daemon names the wire field and what it allows', () => {
    expect(`${violation.field}: ${describeLimitViolation(violation)}`).toBe('guidance_scale: 25 is out of range; allowed: a number from 1 to 20');
  });
  it('the bot names the option people type and the model', () => {
    expect(OPTION_FOR_FIELD[violation.field]).toBe('guidance');
    expect(describeForPerson(violation, 'tiny')).toBe('guidance must be a number from 1 to 20 for model tiny (got 25).');
    const grid = findLimitViolation({ frames: 10 }, limits)!;
    expect(describeForPerson(grid, 'tiny')).toBe('frames must be 1 + a multiple of 4 for model tiny (e.g. 9 or 13); got 10.');
    expect(describeLimitViolation(grid)).toBe('10 is not 1 + a multiple of 4 (this model compresses time 4×); try 9 or 13');
  });
});

describe('the daemon and the bot refuse the same values (the embedded model)', () => {
  let pkg: ModelPackage;
  let info: ModelInfo__Output;
  beforeAll(async () => {
    pkg = await readModelPackage('models/tiny-world');
    info = { name: pkg.name, hash: pkg.hash, description: '', defaults: wireModelDefaults(pkg), limits: wireModelLimits(pkg), vocabulary: [], examplePrompts: [], schedulers: [], styles: [], acceptsImage: false };
  });

  /** The daemon's verdict: undefined, or the refused field. */
  function daemon(values: Partial<AnimateOptions>): string | undefined {
    const req: GenerateRequest__Output = {
      prompt: values.prompt ?? 'a red ball', negativePrompt: values.negative ?? '', aspect: values.aspect ?? '', model: '', formats: [], preview: null, requestId: '',
      requester: null, scheduler: '', steps: values.steps, guidanceScale: values.guidance, frames: values.frames, fps: values.fps,
    } as unknown as GenerateRequest__Output;
    try {
      validateGenerateRequest(req, pkg, () => 'id');
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      return (err as InvalidArgumentError).field;
    }
  }
  /** The bot's verdict, in the wire's field names. */
  function bot(values: Partial<AnimateOptions>): string | undefined {
    try {
      checkAgainstModel({ prompt: 'a red ball', variants: 1, ...values }, info);
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      const option = (err as InvalidOptionsError).option;
      return Object.entries(OPTION_FOR_FIELD).find(([, o]) => o === option)?.[0];
    }
  }

  it('reads the limits the package declares', () => {
    expect(info.limits).toMatchObject({ minSteps: 1, maxSteps: 100, maxFrames: 33, temporalFactor: 4, maxPromptChars: 500, aspects: ['1:1'] });
  });

  it('agrees on every value tried, refusals and passes alike', () => {
    const cases: Array<Partial<AnimateOptions>> = [
      ...[0, 1, 20, 100, 101].map((steps) => ({ steps })),
      ...[0.5, 1, 4.5, 20, 20.5].map((guidance) => ({ guidance })),
      ...[1, 2, 5, 8, 9, 33, 34, 37].map((frames) => ({ frames })),
      ...[0, 1, 30, 31].map((fps) => ({ fps })),
      { aspect: '1:1' }, { aspect: '16:9' },
      { prompt: 'a'.repeat(500) }, { prompt: 'a'.repeat(501) }, { negative: 'b'.repeat(501) },
    ];
    const verdicts = cases.map((c) => ({ c, daemon: daemon(c), bot: bot(c) }));
    expect(verdicts.filter((v) => v.daemon !== v.bot)).toEqual([]);
    // Not a vacuous agreement: exactly these are refused, each for its own field, and the rest pass.
    expect(verdicts.filter((v) => v.daemon !== undefined).map((v) => v.daemon)).toEqual([
      'steps', 'steps', 'guidance_scale', 'guidance_scale', 'frames', 'frames', 'frames', 'frames', 'fps', 'fps', 'aspect', 'prompt', 'negative_prompt',
    ]);
    expect(verdicts.filter((v) => v.daemon === undefined).length).toBe(cases.length - 13);
  });
});
