import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../bots/core/errors.ts';
import { checkAgainstModel, framesForDuration, helpText, parseStructuredOptions, parseTextCommand, tokenize } from '../../bots/core/options.ts';
import { buildGenerateRequest, clipFileName } from '../../bots/core/request.ts';
import type { ModelInfo__Output } from '../../shared/rpc/types.ts';

const model: ModelInfo__Output = {
  name: 'tiny',
  hash: 'h',
  description: '',
  defaults: { steps: 20, guidanceScale: 4, frames: 17, width: 128, height: 128, fps: 8, scheduler: 'euler', previewEveryNSteps: 2 },
  limits: { minSteps: 1, maxSteps: 50, minGuidance: 1, maxGuidance: 20, minFrames: 1, maxFrames: 33, temporalFactor: 4, sizeMultiple: 16, minSide: 64, maxSide: 256, minFps: 1, maxFps: 30, aspects: ['1:1', '16:9', '9:16'], maxPromptChars: 40 },
  vocabulary: [],
  examplePrompts: ['a red ball bouncing'],
  schedulers: ['euler'],
  styles: [],
  acceptsImage: false,
};

function invalid(fn: () => unknown): InvalidOptionsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return err as InvalidOptionsError;
  }
  throw new Error('expected InvalidOptionsError');
}

describe('parseTextCommand', () => {
  it('parses the documented example', () => {
    const r = parseTextCommand('a red ball bounces --seed 42 --steps 20 --aspect 16:9 --variants 2 --negative "blurry"');
    expect(r).toEqual({ kind: 'animate', options: { prompt: 'a red ball bounces', seed: 42, steps: 20, aspect: '16:9', variants: 2, negative: 'blurry' } });
  });
  it('accepts --name=value, aliases, options before the prompt and 16x9', () => {
    const r = parseTextCommand('--cfg=4.5 --ar 16x9 a cat --n 3 --seconds 1.5 --fps 12');
    expect(r).toEqual({ kind: 'animate', options: { prompt: 'a cat', guidance: 4.5, aspect: '16:9', variants: 3, duration: 1.5, fps: 12 } });
  });
  it('recognises help in its spellings', () => {
    for (const t of ['help', ' HELP ', '--help', '', 'a ball --help']) expect(parseTextCommand(t).kind).toBe('help');
  });
  it('names the option and what it accepts', () => {
    expect(invalid(() => parseTextCommand('a ball --steps 2.5')).message).toBe('steps must be a whole number from 1 to 1000');
    expect(invalid(() => parseTextCommand('a ball --variants 5')).option).toBe('variants');
    // Without a model, any W:H shape passes (the model's own list is checked by checkAgainstModel); other text does not.
    expect(parseTextCommand('a ball --aspect 2x1')).toMatchObject({ options: { aspect: '2:1' } });
    for (const bad of ['wide', '16-9', '0:1', '100:1'])
      expect(invalid(() => parseTextCommand(`a ball --aspect ${bad}`)).message).toBe('aspect must be a ratio of two whole numbers as W:H (the ones the model takes are listed by /animate help)');
    const unknown = invalid(() => parseTextCommand('a ball --speed 3'));
    expect(unknown.message).toContain('Unknown option "--speed"');
    expect(unknown.message).toContain('--seed');
    expect(invalid(() => parseTextCommand('a ball --seed')).message).toContain('--seed needs a value');
    expect(invalid(() => parseTextCommand('--seed 3')).option).toBe('prompt');
    expect(invalid(() => parseTextCommand('a ball --frames 9 --duration 1')).message).toBe('give either duration or frames, not both');
    expect(invalid(() => parseTextCommand('a ball --seed 1 --seed 2')).message).toContain('given twice');
    expect(invalid(() => parseTextCommand('a ball --seed -1')).option).toBe('seed');
  });
  it('keeps quoted text together', () => {
    expect(tokenize(`a "b c" 'd e' “f g” h`)).toEqual(['a', 'b c', 'd e', 'f g', 'h']);
  });
});

describe('parseStructuredOptions', () => {
  it('coerces strings from modals and drops blanks', () => {
    expect(parseStructuredOptions({ prompt: ' a dog ', seed: '7', steps: '', negative: '', guidance: 3 })).toEqual({ prompt: 'a dog', seed: 7, guidance: 3, variants: 1 });
  });
  it('refuses unknown keys and non-numbers', () => {
    expect(invalid(() => parseStructuredOptions({ prompt: 'x', colour: 'red' })).message).toContain('Unknown option "colour"');
    expect(invalid(() => parseStructuredOptions({ prompt: 'x', seed: 'abc' })).option).toBe('seed');
  });
});

describe('checkAgainstModel', () => {
  const check = (text: string) => () => {
    const r = parseTextCommand(text);
    if (r.kind === 'animate') checkAgainstModel(r.options, model);
  };
  it('passes values inside the model limits', () => {
    expect(check('a ball --steps 50 --guidance 20 --frames 33 --fps 30 --aspect 9:16')).not.toThrow();
  });
  it('names the model range', () => {
    expect(invalid(check('a ball --steps 51')).message).toBe('steps must be a whole number from 1 to 50 for model tiny (got 51).');
    expect(invalid(check('a ball --frames 10')).message).toContain('1 + a multiple of 4');
    expect(invalid(check('a ball --frames 10')).message).toContain('e.g. 9 or 13');
    expect(invalid(check('a ball --aspect 4:3')).message).toContain('1:1, 16:9, 9:16');
    expect(invalid(check('a ball --duration 5')).message).toContain('from 0.13 to 4.13 seconds at 8 fps');
    expect(invalid(check('a very long prompt that goes on and on and on')).option).toBe('prompt');
  });
});

describe('duration → frames and requests', () => {
  it('rounds to 1 + k·temporal factor inside the limits', () => {
    expect(framesForDuration(2, 8, 4)).toBe(17);
    expect(framesForDuration(1, 8, 4)).toBe(9);
    expect(framesForDuration(1.1, 8, 4)).toBe(9);
    expect(framesForDuration(10, 8, 4, 1, 33)).toBe(33);
    expect(framesForDuration(0.01, 8, 4, 5, 33)).toBe(5);
    expect(framesForDuration(1, 10, 1)).toBe(10);
  });
  it('builds the wire request with the model fps and the adapter formats', () => {
    const r = parseTextCommand('a ball --duration 2 --negative blur --seed 9');
    if (r.kind !== 'animate') throw new Error('expected animate');
    const req = buildGenerateRequest(r.options, {
      jobId: 'j1',
      requester: { platform: 'slack', userId: 'U1', channelId: 'C1', serverId: 'T1' },
      adapter: { platform: 'slack', limits: { minUpdateIntervalMs: 1000, maxUploadBytes: 1e6 }, clipFormats: ['mp4', 'gif'] },
      model,
      seed: 11,
    });
    expect(req).toMatchObject({ prompt: 'a ball', negativePrompt: 'blur', seed: 11, frames: 17, formats: ['MP4', 'GIF'], requestId: 'j1', maxClipBytes: 1e6 });
    expect(req.requester).toEqual({ userId: 'U1', channelId: 'C1', platform: 'SLACK', serverId: 'T1', displayName: '' });
    expect(clipFileName('A red ball, bouncing!', 42, 'mp4')).toBe('a-red-ball-bouncing-seed42.mp4');
  });
  it('help lists every option and the model ranges', () => {
    const text = helpText(model);
    for (const o of ['--negative', '--seed', '--steps', '--guidance', '--duration', '--frames', '--aspect', '--fps', '--variants']) expect(text).toContain(o);
    expect(text).toContain('1–50');
    expect(text).toContain('"a red ball bouncing"');
    // Aspects and ranges are the model's: its list, its frame grid, the clip lengths they make at its fps.
    expect(text).toContain(`  --aspect    ${model.limits!.aspects.join(', ')}: frame shape`);
    expect(text).toContain('  --frames    1–33, 1 + a multiple of 4: ');
    // The example names an aspect from the model's list, never one it refuses; with only one, none.
    expect(text).toContain(`--aspect ${model.limits!.aspects[1]} `);
    const square = helpText({ ...model, limits: { ...model.limits!, aspects: [model.limits!.aspects[0]!] } });
    expect(square.split('\n')[0]).not.toContain('--aspect');
    expect(helpText(undefined).split('\n')[0]).toBe('/animate <prompt> [--option value …]   e.g. /animate a red ball bounces --seed 42 --variants 2 --negative "blurry"');
  });
});
