// The style table of npm run eval (issue #23): each held-out prompt and seed generated without a style and with each
// of the model's styles, and a pixel check per look that says whether a clip has it (look checks below: lit, glowing
// shapes on a dark scene for neon, a grainy dark green board for chalk, a ruled page of cream paper for notebook). A
// style passes when at least 90% of its clips show its look and at most 10% of the base clips do (the check sees the
// look, not just any clip), and when colour and motion adherence stay within 5 points of the base model's (the look
// changes, not what the prompt asked for). The looks are the procedural world's (training/world.py render_styled); the checks are pure
// arithmetic on frames, so they are tested on synthetic frames with known answers (test/tools/style-checks.test.ts).
import { rowMedians, type Frames } from './checks.ts';
import type { Scored } from './report.ts';

export const STYLE_GOALS = {
  /** Fraction of a style's clips that must show its look. */
  withStyle: 0.9,
  /** Most of the base model's clips that may "show" it (the check's false positives). */
  withoutStyle: 0.1,
  /** Largest fall of colour or motion adherence against the base model, as a rate (5 points). */
  adherenceDrop: 0.05,
} as const satisfies Record<string, number>;

/** What each look check measured, and whether the clip has the look. */
export interface LookVerdict {
  pass: boolean;
  figures: Record<string, number>;
}

export type LookCheck = (clip: Frames) => LookVerdict;

/** Rec. 601 luma of pixel `p` of an RGB24 frame. */
function luma(f: Uint8Array, p: number): number {
  return 0.299 * f[p * 3]! + 0.587 * f[p * 3 + 1]! + 0.114 * f[p * 3 + 2]!;
}

function lumaPlane(clip: Frames, f: Uint8Array): Float32Array {
  const n = clip.width * clip.height;
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) out[p] = luma(f, p);
  return out;
}

// ------------------------------------------------------------------------------------------------------------- neon

/** Luma below which a pixel is dark (the world's night sky is 17-33, its plain scene 229). */
export const DARK_LUMA = 50;
/** Neon: at least this fraction of the pixels dark. */
export const NEON_DARK_FRACTION = 0.6;
/**
 * Neon: the shapes glow. The glow is how far the pixels 4-8 px outside the object stand out from the scene, as a
 * fraction of how far the object itself does (RGB distances from the row's background, so a dark red glows as well as
 * a yellow). The world's neon renders of the held-out cases measure 0.02-0.16 after a round trip through the VAE
 * (0.012 once in 32), its plain renders on the night sky, the one dark scene of the plain world, under 0.014 after the
 * same trip (the decoder's own blur) and 0 as drawn.
 */
export const NEON_MIN_GLOW = 0.02;
/** Object pixels: at least this far (RGB distance) from the row's background, and half the frame's brightest contrast. */
const OBJECT_DISTANCE = 40;
/** Frames whose object has fewer pixels than this say nothing about its glow. */
const MIN_OBJECT_PIXELS = 20;
/** The glow's ring: from this many pixels outside the object ... */
const GLOW_FROM = 3;
/** ... to this many; the scene it is compared with starts this far out. */
const GLOW_TO = 8;
const SCENE_FROM = 14;

/** Each pixel's RGB distance from its row's background (the row median). */
function backgroundDistance(clip: Frames, f: Uint8Array, medians: Array<[number, number, number]>): Float32Array {
  const { width: w, height: h } = clip;
  const d = new Float32Array(w * h);
  for (let p = 0; p < w * h; p++) {
    const m = medians[Math.floor(p / w)]!;
    d[p] = Math.hypot(f[p * 3]! - m[0], f[p * 3 + 1]! - m[1], f[p * 3 + 2]! - m[2]);
  }
  return d;
}

function objectMask(d: Float32Array): Uint8Array {
  const sorted = Float32Array.from(d).sort();
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  const cut = Math.max(OBJECT_DISTANCE, 0.5 * p99);
  return Uint8Array.from(d, (x) => (x >= cut ? 1 : 0));
}

/** The mask grown by `radius` pixels (a square), in two one-dimensional passes. */
export function dilate(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const rows = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let k = Math.max(0, c - radius); k <= Math.min(width - 1, c + radius); k++) {
        if (mask[r * width + k]) {
          rows[r * width + c] = 1;
          break;
        }
      }
    }
  }
  const out = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let k = Math.max(0, r - radius); k <= Math.min(height - 1, r + radius); k++) {
        if (rows[k * width + c]) {
          out[r * width + c] = 1;
          break;
        }
      }
    }
  }
  return out;
}

/** One frame's glow: (ring − scene) / (object − scene) of the mean distances, or NaN without an object or a scene. */
export function glowOf(d: Float32Array, width: number, height: number): number {
  const mask = objectMask(d);
  let count = 0;
  for (const v of mask) count += v;
  if (count < MIN_OBJECT_PIXELS) return NaN;
  const inner = dilate(mask, width, height, GLOW_FROM);
  const outer = dilate(mask, width, height, GLOW_TO);
  const near = dilate(mask, width, height, SCENE_FROM);
  const sum = { object: 0, ring: 0, scene: 0 };
  const n = { object: 0, ring: 0, scene: 0 };
  for (let p = 0; p < d.length; p++) {
    const part = mask[p] ? 'object' : outer[p] && !inner[p] ? 'ring' : near[p] ? undefined : 'scene';
    if (part) (sum[part] += d[p]!), n[part]++;
  }
  if (!n.ring || !n.scene) return NaN;
  const scene = sum.scene / n.scene;
  const contrast = sum.object / n.object - scene;
  return contrast > 0 ? (sum.ring / n.ring - scene) / contrast : NaN;
}

export function neonLook(clip: Frames): LookVerdict {
  const { width: w, height: h } = clip;
  let dark = 0;
  let total = 0;
  for (const f of clip.frames) {
    for (let p = 0; p < w * h; p++) if (luma(f, p) < DARK_LUMA) dark++;
    total += w * h;
  }
  const medians = rowMedians(clip);
  const glows = clip.frames.map((f) => glowOf(backgroundDistance(clip, f, medians), w, h)).filter((g) => Number.isFinite(g));
  const darkFraction = dark / Math.max(1, total);
  // The median frame: one frame with the object at the border (its ring cut off) does not decide the clip.
  const glow = glows.length ? glows.sort((a, b) => a - b)[Math.floor(glows.length / 2)]! : NaN;
  // No object in any frame: no glow either (NaN fails the comparison).
  const pass = darkFraction >= NEON_DARK_FRACTION && glow >= NEON_MIN_GLOW;
  return { pass, figures: { darkFraction, glow, framesWithObject: glows.length } };
}

// --------------------------------------------------------------------------------------------------------- notebook

/** world.py NOTEBOOK_RULE: the page is ruled every this many rows, each line the last two rows of its band. */
export const NOTEBOOK_RULE = 16;
/** Notebook: at least this fraction of the pixels off the lines are cream paper. */
export const NOTEBOOK_PAPER_FRACTION = 0.5;
/**
 * Notebook: the ruling: the median luma of the rows between the lines minus that of the lines' rows (rows, not
 * pixels: a whole row is one colour, and the row median does not see the object). The world's notebook renders of the
 * held-out cases measure 60 as drawn and 12-13.4 after a round trip through the VAE; the plain world -6 to 13 (its
 * grass has a step at the horizon), but never on cream paper.
 */
export const NOTEBOOK_MIN_RULING = 6;

/** A cream paper pixel: bright, and warm (red a little above blue, green between). */
function isCream(f: Uint8Array, p: number): boolean {
  const r = f[p * 3]!;
  const g = f[p * 3 + 1]!;
  const b = f[p * 3 + 2]!;
  return luma(f, p) >= 170 && r - b >= 12 && r - b <= 60 && g - b >= 6;
}

/** Whether row `r` is one of a ruling line's two rows (the last two of each band of `rule` rows). */
function isLineRow(r: number, rule: number): boolean {
  return r % rule >= rule - 2;
}

export function notebookLook(clip: Frames, rule = NOTEBOOK_RULE): LookVerdict {
  const { width: w, height: h } = clip;
  let paper = 0;
  let counted = 0;
  const rowLuma = new Float64Array(h);
  const row = new Float32Array(w);
  for (const f of clip.frames) {
    for (let r = 0; r < h; r++) {
      const line = isLineRow(r, rule);
      for (let c = 0; c < w; c++) {
        const p = r * w + c;
        row[c] = luma(f, p);
        if (!line) {
          counted++;
          if (isCream(f, p)) paper++;
        }
      }
      row.sort();
      rowLuma[r]! += row[w >> 1]! / clip.frames.length;
    }
  }
  const mean = (onLine: boolean): number => {
    let sum = 0;
    let n = 0;
    for (let r = 0; r < h; r++) if (isLineRow(r, rule) === onLine) (sum += rowLuma[r]!), n++;
    return n ? sum / n : NaN;
  };
  const paperFraction = paper / Math.max(1, counted);
  const ruling = mean(false) - mean(true);
  return { pass: paperFraction >= NOTEBOOK_PAPER_FRACTION && ruling >= NOTEBOOK_MIN_RULING, figures: { paperFraction, ruling } };
}

// ------------------------------------------------------------------------------------------------------------ chalk

/**
 * A board pixel: dark (luma below this), green above red, and blue not far above green (the board is drawn (30, 58, 42)
 * to (22, 44, 32); the VAE's round trip brings its blue up to its green, and the night sky's blue is 26+ above it).
 */
export const BOARD_LUMA = 75;
/** Chalk: at least this fraction of the pixels are board. */
export const CHALK_BOARD_FRACTION = 0.5;
/**
 * Chalk: the board is grainy: the mean luma step between neighbouring board pixels. The world's night sky, its only
 * other dark scene, is smooth (under 1 apart from its stars); the board as drawn measures about 4.
 */
export const CHALK_MIN_GRAIN = 1.6;

function isBoard(f: Uint8Array, p: number): boolean {
  const r = f[p * 3]!;
  const g = f[p * 3 + 1]!;
  const b = f[p * 3 + 2]!;
  return luma(f, p) < BOARD_LUMA && g >= r + 6 && g + 4 >= b;
}

export function chalkLook(clip: Frames): LookVerdict {
  const { width: w, height: h } = clip;
  let board = 0;
  let total = 0;
  let grain = 0;
  let pairs = 0;
  for (const f of clip.frames) {
    const y = lumaPlane(clip, f);
    const on = new Uint8Array(w * h);
    for (let p = 0; p < w * h; p++) on[p] = isBoard(f, p) ? 1 : 0;
    for (let p = 0; p < w * h; p++) {
      if (!on[p]) continue;
      board++;
      const c = p % w;
      if (c + 1 < w && on[p + 1]) (grain += Math.abs(y[p + 1]! - y[p]!)), pairs++;
      if (p + w < w * h && on[p + w]) (grain += Math.abs(y[p + w]! - y[p]!)), pairs++;
    }
    total += w * h;
  }
  const boardFraction = board / Math.max(1, total);
  const grainStep = pairs ? grain / pairs : 0;
  return { pass: boardFraction >= CHALK_BOARD_FRACTION && grainStep >= CHALK_MIN_GRAIN, figures: { boardFraction, grain: grainStep } };
}

/** The look check of each of the world's styles (tiny-world's loras/ folders are named after them). */
export const LOOK_CHECKS: Record<string, LookCheck> = { neon: neonLook, chalk: chalkLook, notebook: notebookLook };

// ------------------------------------------------------------------------------------------------------------ table

/** One clip of the style table: its adherence verdict and whether it has each look. */
export interface StyledClip {
  scored: Scored;
  looks: Record<string, LookVerdict>;
}

export interface StyleRow {
  style: string;
  clips: number;
  /** Clips made with the style that show its look, and base clips that do. */
  withStyle: number;
  withoutStyle: number;
  colour: { base: number; styled: number };
  motion: { base: number; styled: number };
  pass: { look: boolean; baseline: boolean; colour: boolean; motion: boolean; all: boolean };
  /** The look check's figures: mean over the styled clips, and over the base clips. */
  figures: { styled: Record<string, number>; base: Record<string, number> };
}

/** The look checks of every style in `styles` on one clip. */
export function judgeLooks(clip: Frames, styles: string[]): Record<string, LookVerdict> {
  const out: Record<string, LookVerdict> = {};
  for (const s of styles) {
    const check = LOOK_CHECKS[s];
    if (check) out[s] = check(clip);
  }
  return out;
}

function meanFigures(verdicts: LookVerdict[]): Record<string, number> {
  const sums: Record<string, { sum: number; n: number }> = {};
  for (const v of verdicts) {
    for (const [k, x] of Object.entries(v.figures)) {
      if (!Number.isFinite(x)) continue;
      const e = (sums[k] ??= { sum: 0, n: 0 });
      e.sum += x;
      e.n++;
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([k, e]) => [k, e.sum / e.n]));
}

/**
 * One row per style: `base` holds the clips without a style, `styled[style]` the same prompts and seeds with it, in the
 * same order (a mismatch is a programming error and throws). A style without a look check is left out.
 */
export function compareStyles(base: StyledClip[], styled: Record<string, StyledClip[]>): StyleRow[] {
  const rows: StyleRow[] = [];
  for (const [style, clips] of Object.entries(styled)) {
    if (!LOOK_CHECKS[style]) continue;
    if (clips.length !== base.length) throw new Error(`styles: ${clips.length} ${style} clips for ${base.length} base clips; they must be paired`);
    clips.forEach((c, i) => {
      if (c.scored.case.prompt !== base[i]!.scored.case.prompt) throw new Error(`styles: ${style} clip ${i} is "${c.scored.case.prompt}", its base pair "${base[i]!.scored.case.prompt}"`);
    });
    const n = clips.length;
    const rate = (list: StyledClip[], ok: (c: StyledClip) => boolean): number => list.filter(ok).length / Math.max(1, n);
    const withStyle = rate(clips, (c) => c.looks[style]?.pass === true);
    const withoutStyle = rate(base, (c) => c.looks[style]?.pass === true);
    const colour = { base: rate(base, (c) => c.scored.ok.colour), styled: rate(clips, (c) => c.scored.ok.colour) };
    const motion = { base: rate(base, (c) => c.scored.ok.motion), styled: rate(clips, (c) => c.scored.ok.motion) };
    // Whole parts per million, so that 0.9 − 0.05 against 0.85 is not a floating-point failure.
    const atLeast = (a: number, b: number): boolean => Math.round((a - b) * 1e6) >= 0;
    const pass = {
      look: n > 0 && atLeast(withStyle, STYLE_GOALS.withStyle),
      baseline: atLeast(STYLE_GOALS.withoutStyle, withoutStyle),
      colour: atLeast(colour.styled, colour.base - STYLE_GOALS.adherenceDrop),
      motion: atLeast(motion.styled, motion.base - STYLE_GOALS.adherenceDrop),
      all: false,
    };
    pass.all = pass.look && pass.baseline && pass.colour && pass.motion;
    rows.push({
      style,
      clips: n,
      withStyle,
      withoutStyle,
      colour,
      motion,
      pass,
      figures: { styled: meanFigures(clips.map((c) => c.looks[style]!)), base: meanFigures(base.map((c) => c.looks[style]!)) },
    });
  }
  return rows;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const mark = (ok: boolean): string => (ok ? 'pass' : 'FAIL');

function figureText(f: Record<string, number>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

/** The printed table: one row per style with the look rates, adherence against the base, and the verdicts. */
export function styleTable(rows: StyleRow[], title: string): string {
  const g = STYLE_GOALS;
  const lines = [
    `${title}`,
    `| style | clips | look with the style (≥ ${pct(g.withStyle)}) | look without (≤ ${pct(g.withoutStyle)}) | colour base → styled | motion base → styled | verdict |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.style} | ${r.clips} | ${pct(r.withStyle)} ${mark(r.pass.look)} | ${pct(r.withoutStyle)} ${mark(r.pass.baseline)} | ` +
        `${pct(r.colour.base)} → ${pct(r.colour.styled)} ${mark(r.pass.colour)} | ${pct(r.motion.base)} → ${pct(r.motion.styled)} ${mark(r.pass.motion)} | ${mark(r.pass.all)} |`,
    ),
    '',
    `colour and motion: within ${Math.round(g.adherenceDrop * 100)} points of the base model; look checks' means, with the style / without:`,
    ...rows.map((r) => `  ${r.style}: ${figureText(r.figures.styled)} / ${figureText(r.figures.base)}`),
  ];
  return lines.join('\n');
}
