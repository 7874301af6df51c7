// Scoring and the printed report of npm run eval: each clip's verdict against what its prompt asked for, the adherence
// table with the goals, and where shape goes wrong.
import type { ClipVerdict } from './checks.ts';
import type { EvalCase } from './world.ts';

export const GOALS = { colour: 0.9, motion: 0.85, shape: 0.8, scene: 0.8 } as const;

export interface Scored {
  case: EvalCase;
  verdict: ClipVerdict;
  ok: { colour: boolean; shape: boolean; motion: boolean; scene: boolean; consistent: boolean };
}

export function score(c: EvalCase, verdict: ClipVerdict): Scored {
  return {
    case: c,
    verdict,
    ok: {
      colour: verdict.colour === c.colour,
      shape: verdict.shape === c.shape,
      motion: verdict.motion === c.motion,
      scene: verdict.scene === c.scene,
      consistent: verdict.consistent,
    },
  };
}

/** "n/total | rate%" cells of the table. */
function passed(n: number, total: number): string {
  return `${n}/${total} | ${((100 * n) / Math.max(1, total)).toFixed(0)}%`;
}

export function table(results: Scored[], title: string): string {
  const keys = ['colour', 'motion', 'shape', 'scene', 'consistent'] as const;
  const lines = [`${title} (${results.length} clips)`, '| check | passed | rate | goal |', '|---|---|---|---|'];
  for (const k of keys) {
    const n = results.filter((r) => r.ok[k]).length;
    const goal = k === 'consistent' ? '—' : `≥ ${Math.round(GOALS[k] * 100)}%`;
    lines.push(`| ${k} | ${passed(n, results.length)} | ${goal} |`);
  }
  const all = results.filter((r) => keys.every((k) => r.ok[k])).length;
  lines.push(`| all five | ${passed(all, results.length)} | — |`);
  lines.push('', `shape by the shape asked for: ${shapeBreakdown(results)}`);
  return lines.join('\n');
}

/** "star 2/8 (as circle 4, heart 2), ring 4/4": where shape fails, and what the template match saw instead. */
export function shapeBreakdown(results: Scored[]): string {
  const asked = new Map<string, { ok: number; n: number; seen: Map<string, number> }>();
  for (const r of results) {
    const entry = asked.get(r.case.shape) ?? { ok: 0, n: 0, seen: new Map<string, number>() };
    entry.n++;
    if (r.ok.shape) entry.ok++;
    else {
      const got = r.verdict.shape ?? 'nothing';
      entry.seen.set(got, (entry.seen.get(got) ?? 0) + 1);
    }
    asked.set(r.case.shape, entry);
  }
  return [...asked]
    .map(([shape, e]) => {
      const wrong = [...e.seen].sort((a, b) => b[1] - a[1]).map(([got, n]) => `${got} ${n}`);
      return `${shape} ${e.ok}/${e.n}${wrong.length ? ` (as ${wrong.join(', ')})` : ''}`;
    })
    .join(', ');
}
