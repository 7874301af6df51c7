// When the denoising loop shows a preview: paced by time, not by step count, so a preview costs the same share of a
// clip whatever a step costs (a fast model's every-2-steps previews were ~20% of its clip, issue #23). The first comes
// right after step 1 (something to look at at once), the next ones at least `minIntervalMs` after the one before, and
// only on multiples of `every` steps (the request's preview.every_n_steps: an extra cap). None after the last
// step: the clip itself follows. And the last preview lands as late as it may: a preview due so near the end that the
// last allowed step comes less than `minIntervalMs` later (at the pace of the steps so far) waits for that step, so
// the last preview is the sharpest one allowed instead of one that is then left standing until the clip.

import { InvalidArgumentError } from '../errors.ts';
import { DEFAULT_PREVIEW_MIN_INTERVAL_MS } from '../../shared/wire/previews.ts';

export { DEFAULT_PREVIEW_MIN_INTERVAL_MS };

export interface PreviewPacing {
  /** Steps of the clip. */
  steps: number;
  /** After the first, previews only after steps that are multiples of this; 0 (or less) disables previews. */
  every: number;
  /** Least time between two previews (ms). Default DEFAULT_PREVIEW_MIN_INTERVAL_MS. */
  minIntervalMs?: number | undefined;
  /** The clock (ms, monotonic). Default performance.now; tests inject one. */
  now?: (() => number) | undefined;
}

export class PreviewPacer {
  private readonly steps: number;
  private readonly every: number;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private lastStep = 0;
  private lastAt = -Infinity;
  /** When step 1 ended: the steps' pace is measured from there. */
  private firstAt = 0;
  /** The last step a preview may follow: the last multiple of `every` before the final step. */
  private readonly lastAllowed: number;

  constructor(pacing: PreviewPacing) {
    const minIntervalMs = pacing.minIntervalMs ?? DEFAULT_PREVIEW_MIN_INTERVAL_MS;
    if (!Number.isFinite(minIntervalMs) || minIntervalMs < 0) throw new InvalidArgumentError('preview_min_interval_ms', `${minIntervalMs} is not allowed; allowed: a finite number of milliseconds ≥ 0`);
    this.steps = pacing.steps;
    this.every = pacing.every;
    this.minIntervalMs = minIntervalMs;
    this.now = pacing.now ?? (() => performance.now());
    this.lastAllowed = this.every > 0 ? Math.floor((this.steps - 1) / this.every) * this.every : 0;
  }

  /** Called once step `done` (1-based) has finished: whether to preview its x0 estimate now (and if so, noted). */
  due(done: number): boolean {
    if (this.every <= 0 || done >= this.steps) return false;
    const at = this.now();
    const first = this.lastStep === 0;
    // The step cap keeps the old cadence's steps (1, then multiples of `every`): with no interval it is that cadence.
    if (!first && (done % this.every !== 0 || at - this.lastAt < this.minIntervalMs)) return false;
    if (first) this.firstAt = at;
    else if (done < this.lastAllowed) {
      const msPerStep = (at - this.firstAt) / (done - 1);
      if (msPerStep * (this.lastAllowed - done) < this.minIntervalMs) return false; // wait for the last allowed step
    }
    this.lastStep = done;
    this.lastAt = at;
    return true;
  }
}
