// Analytic prompt-adherence checks on the pixels of a clip of the procedural world: scene from the background, the
// object's dominant colour, its shape by template match, its motion from centroid/size over frames, and temporal
// consistency. Validated on the world's own renders (npm run eval -- --truth), where they score ~100%.
import { rowBackground, type Rgb, type World } from './world.ts';

export interface Frames {
  width: number;
  height: number;
  /** RGB24 frames, row-major. */
  frames: Uint8Array[];
}

export interface ObjectTrack {
  /** Per frame: area (pixels) of the largest object component, its centroid, and the component itself. */
  areas: number[];
  cx: number[];
  cy: number[];
  masks: Uint8Array[];
}

export interface ClipVerdict {
  scene: string;
  colour: string | undefined;
  shape: string | undefined;
  motion: string;
  /** Object present in this fraction of frames. */
  presence: number;
  /** Mean absolute change of background pixels between consecutive frames (0..255). */
  flicker: number;
  consistent: boolean;
  features: Record<string, number>;
}

const OBJECT_MIN_DISTANCE = 45;

function dist2(r: number, g: number, b: number, c: Rgb): number {
  const dr = r - c[0];
  const dg = g - c[1];
  const db = b - c[2];
  return dr * dr + dg * dg + db * db;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}

/** Per-row median colour over all columns and frames: the background, robust to a moving object and decorations. */
export function rowMedians(clip: Frames): Rgb[] {
  const rows: Rgb[] = [];
  const stride = Math.max(1, Math.floor((clip.width * clip.frames.length) / 512));
  for (let y = 0; y < clip.height; y++) {
    const ch: number[][] = [[], [], []];
    let k = 0;
    for (const f of clip.frames) {
      for (let x = 0; x < clip.width; x++, k++) {
        if (k % stride !== 0) continue;
        const i = (y * clip.width + x) * 3;
        ch[0]!.push(f[i]!);
        ch[1]!.push(f[i + 1]!);
        ch[2]!.push(f[i + 2]!);
      }
    }
    rows.push([median(ch[0]!), median(ch[1]!), median(ch[2]!)]);
  }
  return rows;
}

/** Scene whose background (per-row colours from world.json) is closest to the clip's row medians. */
export function detectScene(world: World, clip: Frames, medians: Rgb[] = rowMedians(clip)): { scene: string; distances: Record<string, number> } {
  const distances: Record<string, number> = {};
  let best = '';
  let bestD = Infinity;
  for (const scene of Object.keys(world.scenes)) {
    const expected = rowBackground(world, scene, clip.height);
    let d = 0;
    for (let y = 0; y < clip.height; y++) {
      const m = medians[y]!;
      d += Math.sqrt(dist2(m[0], m[1], m[2], expected[y]!));
    }
    d /= clip.height;
    distances[scene] = d;
    if (d < bestD) {
      bestD = d;
      best = scene;
    }
  }
  return { scene: best, distances };
}

/** Keeps the largest 4-connected component of `mask` (in place); returns its area. */
function largestComponent(mask: Uint8Array, width: number, height: number): number {
  const label = new Int32Array(mask.length);
  const stack = new Int32Array(mask.length);
  let bestLabel = 0;
  let bestArea = 0;
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    next++;
    let top = 0;
    let area = 0;
    stack[top++] = start;
    label[start] = next;
    while (top > 0) {
      const p = stack[--top]!;
      area++;
      const x = p % width;
      const y = (p - x) / width;
      const push = (q: number): void => {
        if (mask[q] && !label[q]) {
          label[q] = next;
          stack[top++] = q;
        }
      };
      if (x > 0) push(p - 1);
      if (x < width - 1) push(p + 1);
      if (y > 0) push(p - width);
      if (y < height - 1) push(p + width);
    }
    if (area > bestArea) {
      bestArea = area;
      bestLabel = next;
    }
  }
  for (let i = 0; i < mask.length; i++) mask[i] = label[i] === bestLabel && bestLabel > 0 ? 1 : 0;
  return bestArea;
}

/**
 * Object pixels: far from the background and closer to one of the world's object colours than to any background
 * colour of that row (the clip's own row median, the scene's expected colour, its decorations).
 */
export function trackObject(world: World, clip: Frames, scene: string, medians: Rgb[]): ObjectTrack & { colourVotes: Map<string, number> } {
  const expected = rowBackground(world, scene, clip.height);
  const decoration = world.scenes[scene]?.decoration;
  // Colours the world never draws on this scene (they would vanish into it, e.g. white on clouds) are not candidates.
  const forbidden = new Set(world.scenes[scene]?.forbid ?? []);
  const palette = Object.entries(world.colours)
    .filter(([name]) => !forbidden.has(name))
    .map(([name, c]) => ({ name, rgb: c.rgb as Rgb }));
  const track = { areas: [] as number[], cx: [] as number[], cy: [] as number[], masks: [] as Uint8Array[], colourVotes: new Map<string, number>() };
  const n = clip.width * clip.height;
  for (const f of clip.frames) {
    const mask = new Uint8Array(n);
    const nearest = new Int8Array(n).fill(-1);
    for (let p = 0; p < n; p++) {
      const y = Math.floor(p / clip.width);
      const r = f[p * 3]!;
      const g = f[p * 3 + 1]!;
      const b = f[p * 3 + 2]!;
      let dB = Math.min(dist2(r, g, b, medians[y]!), dist2(r, g, b, expected[y]!));
      if (decoration) dB = Math.min(dB, dist2(r, g, b, decoration));
      if (dB < OBJECT_MIN_DISTANCE * OBJECT_MIN_DISTANCE) continue;
      let dP = Infinity;
      let arg = -1;
      for (let k = 0; k < palette.length; k++) {
        const d = dist2(r, g, b, palette[k]!.rgb);
        if (d < dP) {
          dP = d;
          arg = k;
        }
      }
      if (dP < dB) {
        mask[p] = 1;
        nearest[p] = arg;
      }
    }
    const area = largestComponent(mask, clip.width, clip.height);
    let sx = 0;
    let sy = 0;
    for (let p = 0; p < n; p++) {
      if (!mask[p]) continue;
      sx += (p % clip.width) + 0.5;
      sy += Math.floor(p / clip.width) + 0.5;
      const name = palette[nearest[p]!]!.name;
      track.colourVotes.set(name, (track.colourVotes.get(name) ?? 0) + 1);
    }
    track.areas.push(area);
    track.cx.push(area ? sx / area : NaN);
    track.cy.push(area ? sy / area : NaN);
    track.masks.push(mask);
  }
  return track;
}

// ------------------------------------------------------------------------------------------------------ shape templates

const GRID = 64;
const TEMPLATE_R = 16;

interface Template {
  shape: string;
  angle: number;
  mask: Uint8Array;
  area: number;
  cx: number;
  cy: number;
}

function insidePolygon(px: number, py: number, v: Array<[number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = v.length - 1; i < v.length; j = i++) {
    const [xi, yi] = v[i]!;
    const [xj, yj] = v[j]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const templateCache = new WeakMap<World, Template[]>();

/** Every shape rendered on a canonical grid at every 5° (polygons) — the same geometry world.py draws. */
export function shapeTemplates(world: World): Template[] {
  const cached = templateCache.get(world);
  if (cached) return cached;
  const out: Template[] = [];
  for (const shape of Object.keys(world.shapes)) {
    const poly = world.polygons[shape];
    const angles = poly ? Array.from({ length: 72 }, (_, k) => (k * 5 * Math.PI) / 180) : [0];
    for (const angle of angles) {
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const verts = poly?.map(([x, y]) => [(x * c - y * s) * TEMPLATE_R, (x * s + y * c) * TEMPLATE_R] as [number, number]);
      const mask = new Uint8Array(GRID * GRID);
      let area = 0;
      let sx = 0;
      let sy = 0;
      for (let v = 0; v < GRID; v++) {
        for (let u = 0; u < GRID; u++) {
          const px = u + 0.5 - GRID / 2;
          const py = v + 0.5 - GRID / 2;
          const d = Math.hypot(px, py);
          const inside = verts ? insidePolygon(px, py, verts) : shape === 'ring' ? Math.abs(d - 0.7 * TEMPLATE_R) < 0.3 * TEMPLATE_R : d < TEMPLATE_R;
          if (inside) {
            mask[v * GRID + u] = 1;
            area++;
            sx += u + 0.5;
            sy += v + 0.5;
          }
        }
      }
      out.push({ shape, angle, mask, area, cx: sx / area, cy: sy / area });
    }
  }
  templateCache.set(world, out);
  return out;
}

/** IoU of the observed component with a template placed at its centroid and scaled to its area. */
function templateIoU(t: Template, mask: Uint8Array, width: number, height: number, area: number, cx: number, cy: number): number {
  const scale = Math.sqrt(area / t.area);
  let inter = 0;
  let union = 0;
  for (let v = 0; v < GRID; v++) {
    const y = Math.floor(cy + (v + 0.5 - t.cy) * scale);
    for (let u = 0; u < GRID; u++) {
      const x = Math.floor(cx + (u + 0.5 - t.cx) * scale);
      const o = x >= 0 && y >= 0 && x < width && y < height ? mask[y * width + x]! : 0;
      const tm = t.mask[v * GRID + u]!;
      if (o && tm) inter++;
      if (o || tm) union++;
    }
  }
  return union ? inter / union : 0;
}

/** Best shape over up to 5 frames where the object is largest, by summed best-angle IoU. */
export function matchShape(world: World, clip: Frames, track: ObjectTrack): { shape: string | undefined; scores: Record<string, number> } {
  const minArea = 40 * areaScale(clip);
  const order = track.areas.map((a, i) => [a, i] as const).filter(([a]) => a >= minArea).sort((a, b) => b[0] - a[0]).slice(0, 5);
  const scores: Record<string, number> = {};
  if (order.length === 0) return { shape: undefined, scores };
  for (const [, i] of order) {
    const best: Record<string, number> = {};
    for (const t of shapeTemplates(world)) {
      const iou = templateIoU(t, track.masks[i]!, clip.width, clip.height, track.areas[i]!, track.cx[i]!, track.cy[i]!);
      best[t.shape] = Math.max(best[t.shape] ?? 0, iou);
    }
    for (const [s, v] of Object.entries(best)) scores[s] = (scores[s] ?? 0) + v / order.length;
  }
  const shape = Object.entries(scores).sort((a, b) => b[1] - a[1])[0]?.[0];
  return { shape, scores };
}

// ------------------------------------------------------------------------------------------------------------- motion

/** IoU of two frames' components after moving one onto the other's centroid: low when the object turns. */
function alignedIoU(track: ObjectTrack, i: number, j: number, width: number, height: number): number {
  const dx = Math.round(track.cx[j]! - track.cx[i]!);
  const dy = Math.round(track.cy[j]! - track.cy[i]!);
  const a = track.masks[i]!;
  const b = track.masks[j]!;
  let inter = 0;
  let union = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ma = a[y * width + x]!;
      const xb = x + dx;
      const yb = y + dy;
      const mb = xb >= 0 && yb >= 0 && xb < width && yb < height ? b[yb * width + xb]! : 0;
      if (ma && mb) inter++;
      if (ma || mb) union++;
    }
  }
  return union ? inter / union : 1;
}

/**
 * The world is 128x128 and its thresholds are in its pixels; a clip of another size scales them per axis (horizontal
 * distances by width / 128, vertical ones by height / 128, areas by both), so a 16:9 clip is judged on the same
 * fractions of its frame. For a square clip both are width / 128.
 */
function axisScale(clip: Frames): { sx: number; sy: number } {
  return { sx: clip.width / 128, sy: clip.height / 128 };
}

function areaScale(clip: Frames): number {
  const { sx, sy } = axisScale(clip);
  return sx * sy;
}

export function classifyMotion(clip: Frames, track: ObjectTrack): { motion: string; features: Record<string, number> } {
  const { sx, sy } = axisScale(clip);
  const minArea = 20 * areaScale(clip);
  const idx = track.areas.map((a, i) => (a >= minArea ? i : -1)).filter((i) => i >= 0);
  if (idx.length < 3) return { motion: 'none', features: { present: idx.length } };
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const at = (arr: number[], ids: number[]): number[] => ids.map((i) => arr[i]!);
  const first = idx.slice(0, 2);
  const last = idx.slice(-2);
  const mid = idx[Math.floor(idx.length / 2)]!;
  const xs = at(track.cx, idx);
  const ys = at(track.cy, idx);
  const dx = mean(at(track.cx, last)) - mean(at(track.cx, first));
  const dy = mean(at(track.cy, last)) - mean(at(track.cy, first));
  const rangeX = Math.max(...xs) - Math.min(...xs);
  const rangeY = Math.max(...ys) - Math.min(...ys);
  const areaRatio = mean(at(track.areas, idx.slice(-3))) / mean(at(track.areas, idx.slice(0, 3)));
  const d1 = track.cy[mid]! - mean(at(track.cy, first));
  const d2 = mean(at(track.cy, last)) - track.cy[mid]!;
  const turns: number[] = [];
  for (let k = 0; k + 4 < idx.length; k += 2) turns.push(alignedIoU(track, idx[k]!, idx[k + 4]!, clip.width, clip.height));
  const rotationIoU = turns.length ? mean(turns) : 1;
  const features = { dx, dy, rangeX, rangeY, areaRatio, accel: d1 > 0 ? d2 / d1 : 0, rotationIoU, present: idx.length };
  let motion: string;
  // Dominance compares fractions of the frame (dx / sx against dy / sy), so a wide clip's longer x axis is no bias.
  const fx = Math.abs(dx) / sx;
  const fy = Math.abs(dy) / sy;
  if (areaRatio >= 2) motion = 'grow';
  else if (areaRatio <= 0.5) motion = 'shrink';
  else if (rangeX > 30 * sx && rangeY > 30 * sy && fx < 25 && fy < 25) motion = 'orbit';
  else if (fx >= 30 && fx > 2 * fy) motion = dx < 0 ? 'left' : 'right';
  else if (fy >= 30 && fy > 2 * fx) motion = dy < 0 ? 'up' : d1 > 0 && d2 / d1 > 1.8 ? 'fall' : 'down';
  else if (rangeY >= 20 * sy && rangeX < 15 * sx) motion = 'bounce';
  else motion = rotationIoU < 0.85 ? 'spin' : 'static';
  return { motion, features };
}

// -------------------------------------------------------------------------------------------------------- consistency

function backgroundFlicker(clip: Frames, track: ObjectTrack): number {
  const n = clip.width * clip.height;
  let total = 0;
  let count = 0;
  for (let t = 1; t < clip.frames.length; t++) {
    const a = clip.frames[t - 1]!;
    const b = clip.frames[t]!;
    const ma = track.masks[t - 1]!;
    const mb = track.masks[t]!;
    for (let p = 0; p < n; p += 3) {
      // skip object pixels and their neighbourhood (edges blend with the background)
      if (ma[p] || mb[p] || ma[p + 2] || mb[p + 2] || ma[p - 2] || mb[p - 2]) continue;
      total += (Math.abs(a[p * 3]! - b[p * 3]!) + Math.abs(a[p * 3 + 1]! - b[p * 3 + 1]!) + Math.abs(a[p * 3 + 2]! - b[p * 3 + 2]!)) / 3;
      count++;
    }
  }
  return count ? total / count : 0;
}

export function judgeClip(world: World, clip: Frames): ClipVerdict {
  const medians = rowMedians(clip);
  const { scene } = detectScene(world, clip, medians);
  const track = trackObject(world, clip, scene, medians);
  const colour = [...track.colourVotes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const { shape } = matchShape(world, clip, track);
  const { motion, features } = classifyMotion(clip, track);
  const present = track.areas.filter((a) => a >= 20 * areaScale(clip)).length / track.areas.length;
  let jumps = 0;
  for (let t = 1; t < track.areas.length; t++) {
    const a = Math.max(1, track.areas[t - 1]!);
    const b = Math.max(1, track.areas[t]!);
    if (Math.max(a / b, b / a) > 2) jumps++;
  }
  const flicker = backgroundFlicker(clip, track);
  return {
    scene,
    colour,
    shape,
    motion,
    presence: present,
    flicker,
    consistent: present >= 0.9 && jumps === 0 && flicker < 6,
    features: { ...features, jumps },
  };
}
