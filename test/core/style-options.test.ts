// Styles in the bot core: `--style NAME --style-strength X` in the text syntax and style / style_strength in the
// structured one, checked against the model's ListModels styles (an unknown one refused naming those there are, as
// the daemon refuses it), carried into the GenerateRequest, listed by `/animate help` with their descriptions and
// example prompts, and shown with the finished clip's settings. The model entries are ListModels answers as data.
import { describe, expect, it } from 'vitest';
import type { ClipInfo } from '../../bots/core/adapter.ts';
import { InvalidOptionsError } from '../../bots/core/errors.ts';
import { settingsParts } from '../../bots/core/format.ts';
import { checkAgainstModel, helpText, parseStructuredOptions, parseTextCommand } from '../../bots/core/options.ts';
import { buildGenerateRequest } from '../../bots/core/request.ts';
import type { ModelInfo__Output } from '../../shared/rpc/types.ts';

const STYLED = {
  name: 'styled',
  description: 'a model with two looks',
  examplePrompts: ['a red ball bounces'],
  styles: [
    { name: 'pixel-art', description: 'blocky pixels, a small palette', examplePrompt: 'a green frog jumps' },
    { name: 'neon', description: 'bright outlines on black', examplePrompt: 'a blue bird flies at night' },
  ],
} as unknown as ModelInfo__Output;
const PLAIN = { name: 'plain', description: '', examplePrompts: [], styles: [] } as unknown as ModelInfo__Output;

function invalid(fn: () => unknown): InvalidOptionsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidOptionsError) return err;
    throw err;
  }
  throw new Error('expected InvalidOptionsError');
}

const animate = (text: string) => {
  const parsed = parseTextCommand(text);
  if (parsed.kind !== 'animate') throw new Error('expected an animate command');
  return parsed.options;
};

describe('style options', () => {
  it('text: --style and --style-strength (also --style=NAME, --strength), anywhere in the command', () => {
    expect(animate('a ball --style neon --style-strength 1.5 bounces')).toMatchObject({ prompt: 'a ball bounces', style: 'neon', styleStrength: 1.5 });
    expect(animate('a ball --style=pixel-art')).toMatchObject({ style: 'pixel-art' });
    expect(animate('a ball --style=pixel-art').styleStrength).toBeUndefined();
    expect(animate('a ball --style neon --strength 0')).toMatchObject({ style: 'neon', styleStrength: 0 });
  });

  it('structured: Discord\'s style_strength is the same option', () => {
    expect(parseStructuredOptions({ prompt: 'a ball', style: 'neon', style_strength: 0.25 })).toMatchObject({ style: 'neon', styleStrength: 0.25 });
    expect(parseStructuredOptions({ prompt: 'a ball', style: '  ' }).style).toBeUndefined();
  });

  it('a strength outside 0..2, or without a style, is refused naming the range or what is missing', () => {
    const high = invalid(() => parseTextCommand('a ball --style neon --style-strength 2.5'));
    expect(high.message).toBe('style strength must be a number from 0 to 2');
    expect(high.option).toBe('styleStrength');
    expect(invalid(() => parseTextCommand('a ball --style neon --style-strength lots')).message).toBe('style strength must be a number from 0 to 2');
    const alone = invalid(() => parseStructuredOptions({ prompt: 'a ball', style_strength: 1.5 }));
    expect(alone.message).toBe("style strength is set but no style is given: name one of the model's styles (listed by /animate help), or leave the strength out");
    expect(invalid(() => parseTextCommand('a ball --style')).message).toBe('--style needs a value (a style the model lists).');
  });

  it('an unknown option lists --style and --style-strength among the options', () => {
    expect(invalid(() => parseTextCommand('a ball --looks neon')).message).toBe(
      'Unknown option "--looks". Options: --negative, --seed, --steps, --guidance, --duration, --frames, --aspect, --fps, --variants, --model, --style, --style-strength. Try "/animate help".',
    );
  });

  it('against the model: a style it lists passes; another is refused with its styles (and the nearest to a typo)', () => {
    expect(() => checkAgainstModel(animate('a ball --style neon'), STYLED)).not.toThrow();
    const typo = invalid(() => checkAgainstModel(animate('a ball --style pixel-arts'), STYLED));
    expect(typo.message).toBe('style "pixel-arts" is not a style of model styled (did you mean pixel-art?). Its styles: pixel-art, neon.');
    expect(typo.option).toBe('style');
    expect(invalid(() => checkAgainstModel(animate('a ball --style chalk'), STYLED)).message).toBe('style "chalk" is not a style of model styled. Its styles: pixel-art, neon.');
    expect(invalid(() => checkAgainstModel(animate('a ball --style chalk'), PLAIN)).message).toBe('style "chalk" cannot be used: model plain has no styles. Leave style out.');
  });

  it('help --model NAME asks for that model\'s help', () => {
    expect(parseTextCommand('help --model styled')).toEqual({ kind: 'help', model: 'styled' });
    expect(parseTextCommand('help')).toEqual({ kind: 'help' });
  });
});

describe('the request and what is shown', () => {
  const adapter = { platform: 'playground', limits: { minUpdateIntervalMs: 0, maxUploadBytes: Infinity } } as const;
  const requester = { platform: 'playground', userId: 'u', channelId: 'c' } as const;

  it('GenerateRequest carries the style, and the strength only when given', () => {
    const withStrength = buildGenerateRequest(animate('a ball --style neon --style-strength 0.5'), { jobId: 'j1', requester, adapter });
    expect([withStrength.style, withStrength.styleStrength]).toEqual(['neon', 0.5]);
    const plain = buildGenerateRequest(animate('a ball --style neon'), { jobId: 'j2', requester, adapter });
    expect(plain.style).toBe('neon');
    expect('styleStrength' in plain).toBe(false);
    expect(buildGenerateRequest(animate('a ball'), { jobId: 'j3', requester, adapter }).style).toBeUndefined();
  });

  it('help lists the model\'s styles with description and example; a model without styles says so on its --style line', () => {
    const text = helpText(STYLED);
    expect(text).toContain('  --style     pixel-art, neon: a look the model learned (a LoRA adapter), e.g. pixel art');
    expect(text).toContain('  --style-strength 0–2, default 1: how strongly the style applies (0: not at all)');
    const styles = text.split('\n');
    const at = styles.indexOf('Styles of model styled (--style NAME, --style-strength 0–2):');
    expect(styles.slice(at, at + 5)).toEqual([
      'Styles of model styled (--style NAME, --style-strength 0–2):',
      '  pixel-art: blocky pixels, a small palette',
      '    e.g. /animate a green frog jumps --style pixel-art',
      '  neon: bright outlines on black',
      '    e.g. /animate a blue bird flies at night --style neon',
    ]);
    const plain = helpText(PLAIN);
    expect(plain).toContain('  --style     none (model plain has no styles): ');
    expect(plain).not.toContain('Styles of model');
  });

  it('the settings name the style, with its strength when it is not the default', () => {
    const info = { seed: 1, steps: 2, guidance: 3, frames: 5, fps: 8, width: 32, height: 32, model: 'styled', negativePrompt: '' } as ClipInfo;
    const escape = (t: string) => t;
    expect(settingsParts({ ...info, style: { name: 'neon', strength: 1 } }, { escape }).at(-1)).toBe('style neon');
    expect(settingsParts({ ...info, style: { name: 'neon', strength: 1.5 } }, { escape }).at(-1)).toBe('style neon at 1.5');
    expect(settingsParts(info, { escape }).join(' · ')).toBe('seed 1 · 2 steps · guidance 3 · 5 frames at 8 fps · 32×32 · model styled');
  });
});
