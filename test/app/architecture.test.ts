// The structure docs/architecture.md describes, checked on the source itself: no import cycle among files, neither
// wing imports the other (bots/ and inference/ meet only at the wire in shared/ and proto/), shared/ imports neither,
// and only the front door (app/) and the workshop (tools/) may import both.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCE_DIRS = ['app', 'bots', 'inference', 'shared', 'tools'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static, re-exports, and dynamic with a literal), resolved to absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.map((s) => path.resolve(path.dirname(file), s));
}

/** Every cycle found by a depth-first walk, as "a -> b -> a". */
function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) visit(t, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  return cycles;
}

/** Imports that cross between wings where the architecture forbids it (paths relative to the repository). */
function findCrossings(graph: Map<string, string[]>): string[] {
  const wing = (f: string) => f.split('/')[0]!;
  const crossings: string[] = [];
  for (const [f, targets] of graph) {
    for (const t of targets) {
      const [from, to] = [wing(f), wing(t)];
      const forbidden =
        (from === 'bots' && to === 'inference') || (from === 'inference' && to === 'bots') || (from === 'shared' && to !== 'shared') ||
        ((from === 'bots' || from === 'inference') && (to === 'app' || to === 'tools'));
      if (forbidden) crossings.push(`${f} -> ${t}`);
    }
  }
  return crossings;
}

const files = SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(ROOT, d)));
const rel = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');
const graph = new Map(files.map((f) => [rel(f), importsOf(f).filter((t) => files.includes(t)).map(rel)]));

describe('architecture', () => {
  it('has no import cycle among the source files', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(findCycles(graph)).toEqual([]);
  });

  it('keeps the wings apart: bots/ and inference/ never import each other, shared/ imports neither', () => {
    expect(findCrossings(graph)).toEqual([]);
  });

  it('the checks report a cycle and the crossings when there are some', () => {
    const bad = new Map([
      ['bots/core/a.ts', ['inference/b.ts']],
      ['inference/b.ts', ['shared/c.ts']],
      ['shared/c.ts', ['bots/core/a.ts']],
      ['app/start.ts', ['bots/core/a.ts', 'inference/b.ts']],
    ]);
    expect(findCycles(bad)).toEqual(['bots/core/a.ts -> inference/b.ts -> shared/c.ts -> bots/core/a.ts']);
    expect(findCrossings(bad)).toEqual(['bots/core/a.ts -> inference/b.ts', 'shared/c.ts -> bots/core/a.ts']);
  });
});
