import { describe, expect, it } from 'vitest';
import type { ClipVerdict } from '../../tools/eval/checks.ts';
import { score, shapeBreakdown, table } from '../../tools/eval/report.ts';
import type { EvalCase } from '../../tools/eval/world.ts';

const asked = (shape: string): EvalCase => ({ prompt: `a red ${shape}`, shape, colour: 'red', motion: 'left', scene: 'plain', seed: 1, heldout_pair: 'shape_colour' });
const saw = (shape: string | undefined): ClipVerdict => ({
  scene: 'plain',
  colour: 'red',
  shape,
  motion: 'left',
  presence: 1,
  flicker: 0,
  consistent: true,
  features: {},
});

describe('eval report', () => {
  const results = [
    score(asked('star'), saw('circle')),
    score(asked('star'), saw('heart')),
    score(asked('star'), saw('circle')),
    score(asked('star'), saw('star')),
    score(asked('ring'), saw('ring')),
    score(asked('ring'), saw(undefined)),
  ];

  it('counts each asked shape and what the template match saw instead, most frequent first', () => {
    expect(shapeBreakdown(results)).toBe('star 1/4 (as circle 2, heart 1), ring 1/2 (as nothing 1)');
  });

  it('prints the rates against the goals and the breakdown under the table', () => {
    const text = table(results, 'test');
    expect(text).toContain('| shape | 2/6 | 33% | ≥ 80% |');
    expect(text).toContain('| colour | 6/6 | 100% | ≥ 90% |');
    expect(text).toContain('| all five | 2/6 | 33% | — |');
    expect(text).toMatch(/shape by the shape asked for: star 1\/4/);
  });
});
