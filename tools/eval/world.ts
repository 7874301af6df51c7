// The procedural world's definition (training/world.json), shared with the Python renderer so both agree on names,
// colours, backgrounds and the held-out set.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const WORLD_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../training/world.json');

const rgb = z.tuple([z.number(), z.number(), z.number()]);

const evalCaseSchema = z.object({
  prompt: z.string(),
  shape: z.string(),
  colour: z.string(),
  motion: z.string(),
  scene: z.string(),
  seed: z.number().int(),
  heldout_pair: z.string(),
});

const worldSchema = z.object({
  frames: z.number().int(),
  size: z.number().int(),
  fps: z.number(),
  shapes: z.record(z.string(), z.object({ words: z.array(z.string()), symmetric: z.boolean() })),
  colours: z.record(z.string(), z.object({ rgb, words: z.array(z.string()) })),
  motions: z.record(z.string(), z.object({ third: z.array(z.string()), ing: z.array(z.string()) })),
  scenes: z.record(
    z.string(),
    z.object({
      phrases: z.array(z.string()),
      top: rgb,
      bottom: rgb,
      decoration: rgb.optional(),
      horizon: z.number().optional(),
      sky_bottom: rgb.optional(),
      forbid: z.array(z.string()),
    }),
  ),
  polygons: z.record(z.string(), z.array(z.tuple([z.number(), z.number()]))),
  eval_cases: z.array(evalCaseSchema),
});

export type World = z.infer<typeof worldSchema>;
export type EvalCase = z.infer<typeof evalCaseSchema>;
export type Rgb = [number, number, number];

export function loadWorld(file: string = WORLD_FILE): World {
  return worldSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Background colour of each row without decorations (mirror of world.py's row_background), for `height` rows. */
export function rowBackground(world: World, scene: string, height: number): Rgb[] {
  const sc = world.scenes[scene];
  if (!sc) throw new Error(`unknown scene "${scene}"; known: ${Object.keys(world.scenes).join(', ')}`);
  const rows: Rgb[] = [];
  for (let r = 0; r < height; r++) {
    const y = (r + 0.5) / height;
    if (sc.horizon !== undefined && sc.sky_bottom) {
      const h = sc.horizon;
      if (y < h) rows.push(mix(sc.top, sc.sky_bottom, y / h));
      else rows.push(sc.bottom.map((c) => c * (1 - 0.25 * ((y - h) / (1 - h)))) as Rgb);
    } else {
      rows.push(mix(sc.top, sc.bottom, y));
    }
  }
  return rows;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}
