// The decision, apart from the model that scores: a clip is withheld when any sampled frame's score for a label
// reaches that label's threshold (one frame is enough: a clip is shown whole). Labels without a threshold (a real
// classifier's "neutral", "drawing") are scored and logged but never withhold.
import type { SafetyConfig } from './classifier-config.ts';

/** Per-label scores of one clip: the highest over its sampled frames, and each frame's. */
export interface SafetyScores {
  /** label → max score over the sampled frames. */
  byLabel: Record<string, number>;
  /** The frame indices looked at, in clip order. */
  frames: number[];
  /** perFrame[i][j]: frame frames[i], label labels[j]. */
  perFrame: number[][];
}

export interface SafetyVerdict {
  withheld: boolean;
  /** Labels at or over their threshold, highest score over threshold first; empty when the clip passes. */
  flagged: Array<{ label: string; score: number; threshold: number }>;
}

export function judge(scores: SafetyScores, config: Pick<SafetyConfig, 'thresholds'>): SafetyVerdict {
  const flagged = Object.entries(config.thresholds)
    .flatMap(([label, threshold]) => {
      const score = scores.byLabel[label];
      return score !== undefined && score >= threshold ? [{ label, score, threshold }] : [];
    })
    .sort((a, b) => b.score - b.threshold - (a.score - a.threshold));
  return { withheld: flagged.length > 0, flagged };
}

/** Per-frame activations → per-label scores (max over frames). `rows` is [frames × labels], row-major. */
export function scoresFrom(rows: Float32Array, frames: number[], labels: readonly string[], activation: SafetyConfig['activation']): SafetyScores {
  const perFrame: number[][] = [];
  for (let i = 0; i < frames.length; i++) {
    const raw = Array.from(rows.subarray(i * labels.length, (i + 1) * labels.length));
    perFrame.push(activate(raw, activation));
  }
  const byLabel: Record<string, number> = {};
  labels.forEach((label, j) => {
    byLabel[label] = Math.max(...perFrame.map((row) => row[j]!));
  });
  return { byLabel, frames, perFrame };
}

function activate(raw: number[], activation: SafetyConfig['activation']): number[] {
  if (activation === 'sigmoid') return raw.map((v) => 1 / (1 + Math.exp(-v)));
  if (activation === 'softmax') {
    const top = Math.max(...raw);
    const exps = raw.map((v) => Math.exp(v - top));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  }
  return raw;
}
