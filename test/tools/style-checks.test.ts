// The look checks of the eval's style table (tools/eval/styles.ts) on synthetic frames whose figures are known in
// closed form: a square with a band of glow against a hard-edged one on dark and bright grounds, a ruled page
// against one ruled off the rule, the plain scene and grass, a grainy and a smooth board; then the table's rules on
// counted verdicts (90% with the style, 10% without, colour and motion within 5 points).
import { describe, expect, it } from 'vitest';
import type { ClipVerdict, Frames } from '../../tools/eval/checks.ts';
import type { Scored } from '../../tools/eval/report.ts';
import {
  chalkLook,
  compareStyles,
  dilate,
  neonLook,
  NEON_MIN_GLOW,
  notebookLook,
  NOTEBOOK_MIN_RULING,
  styleTable,
  type StyledClip,
} from '../../tools/eval/styles.ts';
import type { EvalCase } from '../../tools/eval/world.ts';

const S = 128;

/** A clip of `frames` copies of one frame drawn by rgb(x, y). */
function clipOf(rgb: (x: number, y: number) => [number, number, number], frames = 3): Frames {
  const f = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const [r, g, b] = rgb(x, y);
      f.set([r, g, b], (y * S + x) * 3);
    }
  }
  return { width: S, height: S, frames: Array.from({ length: frames }, () => f) };
}

const grey = (v: number): [number, number, number] => [v, v, v];

describe('neonLook: a dark scene and shapes that glow', () => {
  it('dilate grows a mask by a square of the radius, cut at the frame', () => {
    const one = new Uint8Array(400);
    one[10 * 20 + 10] = 1;
    expect(dilate(one, 20, 20, 2).reduce((a, v) => a + v, 0)).toBe(25);
    const corner = new Uint8Array(400);
    corner[0] = 1;
    expect(dilate(corner, 20, 20, 2).reduce((a, v) => a + v, 0)).toBe(9);
  });

  const dark: [number, number, number] = [6, 6, 14];
  const red: [number, number, number] = [220, 40, 40];
  /** A 20x20 red square at (54..73, 54..73) with a band of glow `a` (a blend towards red) 1-12 px around it. */
  const glowing = (a: number, ground: [number, number, number] = dark) =>
    clipOf((x, y) => {
      const out = Math.max(Math.max(54 - x, x - 73, 0), Math.max(54 - y, y - 73, 0)); // Chebyshev distance outside
      if (out === 0) return red;
      if (out <= 12) return ground.map((g, i) => Math.round(g + a * (red[i]! - g))) as [number, number, number];
      return ground;
    });

  it('a square with a glow of 0.3 around it on a dark frame measures 0.3 and passes', () => {
    // the ring (3-8 px out) is all glow, the scene (over 14 px out) is the ground: (0.3 D − 0) / (D − 0) (rounding aside)
    const v = neonLook(glowing(0.3));
    console.log(`[style-checks] neon glow: ${JSON.stringify(v.figures)}`);
    expect(v.figures.glow).toBeCloseTo(0.3, 2);
    // the glow (70, 16, 22) is still dark (luma 33); only the square (luma 93.9) is not
    expect(v.figures.darkFraction).toBeCloseTo(1 - 400 / (S * S), 6);
    expect(v.figures.framesWithObject).toBe(3);
    expect(NEON_MIN_GLOW).toBe(0.02);
    expect(v.pass).toBe(true);
  });

  it('a hard-edged square fails (glow 0); a glow of 0.01 is under the threshold; a bright frame fails on darkness', () => {
    const hard = neonLook(glowing(0));
    expect(hard.figures.glow).toBe(0);
    expect(hard.pass).toBe(false);
    const faint = neonLook(glowing(0.01));
    expect(faint.figures.glow).toBeLessThan(NEON_MIN_GLOW);
    expect(faint.pass).toBe(false);
    const bright = neonLook(glowing(0.3, [232, 228, 218]));
    expect(bright.figures.darkFraction).toBe(0);
    expect(bright.figures.glow).toBeCloseTo(0.3, 2);
    expect(bright.pass).toBe(false);
  });

  it('a dark frame with no object fails (no glow to see)', () => {
    const v = neonLook(clipOf(() => dark));
    expect(v.figures.framesWithObject).toBe(0);
    expect(v.figures.glow).toBeNaN();
    expect(v.pass).toBe(false);
  });
});

describe('notebookLook: cream paper ruled every 16 rows', () => {
  const cream: [number, number, number] = [244, 236, 214];
  const line: [number, number, number] = [150, 178, 224];
  const page = (shift: number, object?: (x: number, y: number) => boolean) =>
    clipOf((x, y) => (object?.(x, y) ? [220, 40, 40] : (y + shift) % 16 >= 14 ? line : cream));

  it('a ruled page: all of it paper, the rows between the lines 61.012 brighter, pass; an object on it changes only the paper share', () => {
    // luma of the paper 0.299·244 + 0.587·236 + 0.114·214 = 235.884, of the line 174.872
    const v = notebookLook(page(0));
    console.log(`[style-checks] notebook: ${JSON.stringify(v.figures)}`);
    expect(v.figures.paperFraction).toBe(1);
    expect(v.figures.ruling).toBeCloseTo(235.884 - 174.872, 3);
    expect(NOTEBOOK_MIN_RULING).toBe(6);
    expect(v.pass).toBe(true);
    // a 20x20 red square at rows 50..69: of its 400 pixels, rows 62 and 63 are line rows, so 360 were paper
    const withObject = notebookLook(page(0, (x, y) => x >= 50 && x < 70 && y >= 50 && y < 70));
    expect(withObject.figures.paperFraction).toBeCloseTo(1 - 360 / (S * 112), 6);
    expect(withObject.figures.ruling).toBeCloseTo(235.884 - 174.872, 3);
    expect(withObject.pass).toBe(true);
  });

  it('lines off the rule, the plain scene and a sky over grass all fail', () => {
    const off = notebookLook(page(8));
    expect(off.figures.ruling).toBeLessThan(0);
    expect(off.pass).toBe(false);
    // the plain scene (232, 228, 218) is cream enough, but unruled
    const plain = notebookLook(clipOf(() => [232, 228, 218]));
    expect(plain.figures.paperFraction).toBe(1);
    expect(plain.figures.ruling).toBeCloseTo(0, 6);
    expect(plain.pass).toBe(false);
    const grass = notebookLook(clipOf((_, y) => (y < 78 ? [160, 205, 240] : [70, 150, 50])));
    expect(grass.figures.paperFraction).toBe(0);
    expect(grass.pass).toBe(false);
  });
});

describe('chalkLook: a dark green board with grain', () => {
  // ±3 on every channel in a checkerboard: every neighbouring pair of board pixels is 6 apart in luma
  const board = (x: number, y: number): [number, number, number] => {
    const d = (x + y) % 2 ? 3 : -3;
    return [30 + d, 58 + d, 42 + d];
  };
  it('a grainy board: board fraction 1, grain 6, pass', () => {
    const v = chalkLook(clipOf(board));
    console.log(`[style-checks] chalk board: ${JSON.stringify(v.figures)}`);
    expect(v.figures.boardFraction).toBe(1);
    expect(v.figures.grain).toBeCloseTo(6, 4);
    expect(v.pass).toBe(true);
  });

  it('a smooth board fails on grain; the grainy night sky fails on colour', () => {
    const smooth = chalkLook(clipOf(() => [30, 58, 42]));
    expect(smooth.figures.grain).toBe(0);
    expect(smooth.pass).toBe(false);
    const night = chalkLook(clipOf((x, y) => {
      const d = (x + y) % 2 ? 3 : -3;
      return [10 + d, 14 + d, 40 + d];
    }));
    expect(night.figures.boardFraction).toBe(0);
    expect(night.pass).toBe(false);
  });
});

describe('compareStyles and styleTable: the rules on counted verdicts', () => {
  const verdict: ClipVerdict = { scene: 'night', colour: 'red', shape: 'circle', motion: 'left', presence: 1, flicker: 0, consistent: true, features: {} };
  const clip = (i: number, look: boolean, colourOk: boolean, motionOk = true): StyledClip => {
    const c: EvalCase = { prompt: `prompt ${i}`, shape: 'circle', colour: 'red', motion: 'left', scene: 'night', seed: i, heldout_pair: 'shape_colour' };
    const scored: Scored = { case: c, verdict, ok: { colour: colourOk, shape: true, motion: motionOk, scene: true, consistent: true } };
    return { scored, looks: { neon: { pass: look, figures: { glow: look ? 0.1 : 0 } } } };
  };
  const base = Array.from({ length: 10 }, (_, i) => clip(i, i === 0, true));

  it('9 of 10 with the look and 1 of 10 without pass; colour 100% → 90% is a drop of 10 points and fails', () => {
    const styled = Array.from({ length: 10 }, (_, i) => clip(i, i !== 3, i !== 5));
    const [row] = compareStyles(base, { neon: styled });
    expect(row).toMatchObject({ style: 'neon', clips: 10, withStyle: 0.9, withoutStyle: 0.1, colour: { base: 1, styled: 0.9 }, motion: { base: 1, styled: 1 } });
    expect(row!.pass).toEqual({ look: true, baseline: true, colour: false, motion: true, all: false });
    expect(row!.figures.styled.glow).toBeCloseTo(0.09, 10);
    const text = styleTable([row!], 'Styles');
    expect(text.split('\n')[3]).toBe('| neon | 10 | 90% pass | 10% pass | 100% → 90% FAIL | 100% → 100% pass | FAIL |');
  });

  it('a drop of exactly 5 points passes; 8 of 10 with the look fails; a style without a look check is left out', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => clip(i, true, true));
    const styled = Array.from({ length: 20 }, (_, i) => clip(i, i >= 2, i !== 0));
    const [row] = compareStyles(twenty, { neon: styled, ink: styled });
    expect(row!.pass).toMatchObject({ look: true, baseline: false, colour: true });
    const [low] = compareStyles(base, { neon: Array.from({ length: 10 }, (_, i) => clip(i, i >= 2, true)) });
    expect(low!.withStyle).toBe(0.8);
    expect(low!.pass.look).toBe(false);
    expect(compareStyles(twenty, { neon: styled, ink: styled }).map((r) => r.style)).toEqual(['neon']);
  });

  it('unpaired clips are a programming error', () => {
    expect(() => compareStyles(base, { neon: base.slice(1) })).toThrow('styles: 9 neon clips for 10 base clips; they must be paired');
  });
});
