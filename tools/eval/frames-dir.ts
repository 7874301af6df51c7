// The folder layout clips travel in between training/sample.py and the eval (DIR/cases.json + one .rgb per clip,
// uint8 [T, H, W, 3]), and the world's own renders of the held-out cases in that layout: the eval has no renderer of
// its own (world.py's backgrounds draw from numpy's generator), so reference frames come from sample.py --truth.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Frames } from './checks.ts';
import { WORLD_FILE, type EvalCase } from './world.ts';

export interface SavedCase extends EvalCase {
  file: string;
  frames: number;
  width: number;
  height: number;
}

export function readFramesDir(dir: string): Array<{ c: EvalCase; clip: Frames }> {
  const cases = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as SavedCase[];
  return cases.map((c) => {
    const raw = readFileSync(path.join(dir, c.file));
    const size = c.width * c.height * 3;
    if (raw.length < c.frames * size) throw new Error(`${path.join(dir, c.file)}: ${raw.length} bytes, cases.json says ${c.frames} frames of ${c.width}x${c.height} (${c.frames * size})`);
    const frames = Array.from({ length: c.frames }, (_, t) => new Uint8Array(raw.subarray(t * size, (t + 1) * size)));
    return { c, clip: { width: c.width, height: c.height, frames } };
  });
}

/** Writes clip number `k` into `dir`; returns its cases.json entry. */
export function saveClip(dir: string, k: number, c: EvalCase, clip: Frames): SavedCase {
  const file = `${k}.rgb`;
  writeFileSync(path.join(dir, file), Buffer.concat(clip.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))));
  return { ...c, file, frames: clip.frames.length, width: clip.width, height: clip.height };
}

/** Runs `training/sample.py --truth` into `dir`: the world's renders of the first `limit` held-out cases. */
export function writeTruth(dir: string, limit: number): void {
  execFileSync('/usr/bin/python3', [path.join(path.dirname(WORLD_FILE), 'sample.py'), '--truth', '--out', dir, '--limit', String(limit)], { stdio: 'ignore' });
}

/** The world's renders of the first `limit` held-out cases, in case order (a temp folder, removed after). */
export function renderTruth(limit: number): Array<{ c: EvalCase; clip: Frames }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tiny-world-truth-'));
  try {
    writeTruth(dir, limit);
    return readFramesDir(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
