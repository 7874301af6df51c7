// The look checks of the eval's style table (tools/eval/styles.ts) on synthetic frames whose figures are known in
// closed form (grey pixels, so luma is the grey value): block-edge ratios of a ramp with jumps at the 16-pixel grid,
// outlines against filled discs on dark and bright grounds, a grainy and a smooth board; then the table's rules on
// counted verdicts (90% with the style, 10% without, colour and motion within 5 points).
import { describe, expect, it } from 'vitest';
import type { ClipVerdict, Frames } from '../../tools/eval/checks.ts';
import type { Scored } from '../../tools/eval/report.ts';
import {
  chalkLook,
  compareStyles,
  interiorFraction,
  neonLook,
  pixelLook,
  PIXEL_EDGE_RATIO,
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

describe('pixelLook: luma steps across the 16-pixel block grid against steps inside blocks', () => {
  it('a ramp of 1 per pixel with jumps of 5 at block edges measures 5.0 and passes', () => {
    // inside: 120 horizontal steps of 1 per row, all vertical steps 0 → 15360 / 30720 pairs = 0.5; edges: 7 per row
    // of 5, 0 on the 7 edge rows → 4480 / 1792 pairs = 2.5
    const v = pixelLook(clipOf((x) => grey((x % 16) + 20 * Math.floor(x / 16))));
    console.log(`[style-checks] pixel ramp: ${JSON.stringify(v.figures)}`);
    expect(v.figures.innerStep).toBeCloseTo(0.5, 4);
    expect(v.figures.edgeStep).toBeCloseTo(2.5, 4);
    expect(v.figures.edgeRatio).toBeCloseTo(5.0, 4);
    expect(v.pass).toBe(true);
  });

  it('jumps of 1 at the edges, as inside, measure 1.0 and fail; jumps of 2 measure 2.0, the threshold, and pass', () => {
    const even = pixelLook(clipOf((x) => grey((x % 16) + 16 * Math.floor(x / 16))));
    expect(even.figures.edgeRatio).toBeCloseTo(1.0, 4);
    expect(even.pass).toBe(false);
    const two = pixelLook(clipOf((x) => grey((x % 16) + 17 * Math.floor(x / 16))));
    expect(two.figures.edgeRatio).toBeCloseTo(2.0, 4);
    expect(PIXEL_EDGE_RATIO).toBe(2.0);
    expect(two.pass).toBe(true);
  });

  it('flat 16x16 blocks are infinitely blocky; a smooth disc is not; a flat frame has no look', () => {
    const blocks = pixelLook(clipOf((x, y) => grey(20 + ((Math.floor(x / 16) * 7 + Math.floor(y / 16) * 3) % 11) * 20)));
    expect(blocks.figures.edgeRatio).toBe(Infinity);
    expect(blocks.pass).toBe(true);
    const disc = pixelLook(clipOf((x, y) => grey(Math.hypot(x - 60, y - 70) < 20 ? 230 : 30)));
    console.log(`[style-checks] pixel disc: ${JSON.stringify(disc.figures)}`);
    expect(disc.figures.edgeRatio).toBeLessThan(PIXEL_EDGE_RATIO);
    expect(disc.pass).toBe(false);
    const flat = pixelLook(clipOf(() => grey(100)));
    expect(flat.figures.edgeRatio).toBe(0);
    expect(flat.pass).toBe(false);
  });
});

describe('neonLook: a dark scene and a thin bright outline', () => {
  it('interiorFraction: a 10x10 square in a 20x20 mask has 6x6 interior pixels within radius 2', () => {
    const mask = new Uint8Array(400);
    for (let y = 5; y < 15; y++) for (let x = 5; x < 15; x++) mask[y * 20 + x] = 1;
    expect(interiorFraction(mask, 20, 20)).toBeCloseTo(36 / 100, 10);
    expect(interiorFraction(new Uint8Array(400), 20, 20)).toBeNaN();
  });

  const dark: [number, number, number] = [6, 6, 14];
  const red: [number, number, number] = [220, 40, 40];
  it('a 2-px red ring on a dark frame passes: all dark, no interior', () => {
    const v = neonLook(clipOf((x, y) => (Math.abs(Math.hypot(x - 64, y - 64) - 20) < 1 ? red : dark)));
    console.log(`[style-checks] neon ring: ${JSON.stringify(v.figures)}`);
    expect(v.figures.darkFraction).toBeGreaterThan(0.95);
    expect(v.figures.interior).toBe(0);
    expect(v.figures.framesWithObject).toBe(3);
    expect(v.pass).toBe(true);
  });

  it('a filled disc on the same dark frame fails (its interior near (r − 2)² / r²); a ring on a bright frame fails', () => {
    const disc = neonLook(clipOf((x, y) => (Math.hypot(x - 64, y - 64) < 20 ? red : dark)));
    expect(disc.figures.interior).toBeGreaterThan(0.7);
    expect(disc.figures.interior).toBeLessThan(0.9);
    expect(disc.pass).toBe(false);
    const bright = neonLook(clipOf((x, y) => (Math.abs(Math.hypot(x - 64, y - 64) - 20) < 1 ? red : [232, 228, 218])));
    expect(bright.figures.darkFraction).toBe(0);
    expect(bright.pass).toBe(false);
  });

  it('a dark frame with no object fails (no outline to see)', () => {
    const v = neonLook(clipOf(() => dark));
    expect(v.figures.framesWithObject).toBe(0);
    expect(v.pass).toBe(false);
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
    return { scored, looks: { pixel: { pass: look, figures: { edgeRatio: look ? 4 : 1 } } } };
  };
  const base = Array.from({ length: 10 }, (_, i) => clip(i, i === 0, true));

  it('9 of 10 with the look and 1 of 10 without pass; colour 100% → 90% is a drop of 10 points and fails', () => {
    const styled = Array.from({ length: 10 }, (_, i) => clip(i, i !== 3, i !== 5));
    const [row] = compareStyles(base, { pixel: styled });
    expect(row).toMatchObject({ style: 'pixel', clips: 10, withStyle: 0.9, withoutStyle: 0.1, colour: { base: 1, styled: 0.9 }, motion: { base: 1, styled: 1 } });
    expect(row!.pass).toEqual({ look: true, baseline: true, colour: false, motion: true, all: false });
    expect(row!.figures.styled.edgeRatio).toBeCloseTo(3.7, 10);
    const text = styleTable([row!], 'Styles');
    expect(text.split('\n')[3]).toBe('| pixel | 10 | 90% pass | 10% pass | 100% → 90% FAIL | 100% → 100% pass | FAIL |');
  });

  it('a drop of exactly 5 points passes; 8 of 10 with the look fails; a style without a look check is left out', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => clip(i, true, true));
    const styled = Array.from({ length: 20 }, (_, i) => clip(i, i >= 2, i !== 0));
    const [row] = compareStyles(twenty, { pixel: styled, ink: styled });
    expect(row!.pass).toMatchObject({ look: true, baseline: false, colour: true });
    const [low] = compareStyles(base, { pixel: Array.from({ length: 10 }, (_, i) => clip(i, i >= 2, true)) });
    expect(low!.withStyle).toBe(0.8);
    expect(low!.pass.look).toBe(false);
    expect(compareStyles(twenty, { pixel: styled, ink: styled }).map((r) => r.style)).toEqual(['pixel']);
  });

  it('unpaired clips are a programming error', () => {
    expect(() => compareStyles(base, { pixel: base.slice(1) })).toThrow('styles: 9 pixel clips for 10 base clips; they must be paired');
  });
});
