// The safety check as one job's generation uses it (server/generation.ts's screenClip and screenPreview), and the
// log line of a withheld clip: who asked (the requester), which label, which classifier and the scores; the prompt's
// text only when the operator turned ANIMATE_LOG_PROMPTS on. Kept here so run-job.ts only hands the hooks over.
import { DaemonErrorCode } from '../errors.ts';
import { excerpt } from '../excerpt.ts';
import type { DaemonLogger } from '../log.ts';
import { LOGGED_PROMPT_CHARS, requesterFields } from '../policy/refusal-log.ts';
import type { RgbFrames } from '../pipeline/frames.ts';
import type { Job } from '../server/job.ts';
import type { OutputSafety, SafetyCheck, SafetyPackage } from './output-safety.ts';

export interface JobScreens {
  screenClip: (video: RgbFrames) => Promise<void>;
  screenPreview: (frames: RgbFrames) => Promise<boolean>;
}

export interface JobScreenOptions {
  log: DaemonLogger;
  /** Put the prompt's text in the withheld line (ANIMATE_LOG_PROMPTS). Default false. */
  logPrompts?: boolean | undefined;
}

/** The hooks for `job` on `pkg`, or undefined when no classifier applies (no cost at all then). */
export function jobScreens(safety: OutputSafety | undefined, pkg: SafetyPackage, job: Job, options: JobScreenOptions): JobScreens | undefined {
  if (!safety?.appliesTo(pkg)) return undefined;
  const { log } = options;
  // The same requester fields as a refused prompt's line (policy/refusal-log.ts), so one query finds both.
  const who = requesterFields({ requester: job.spec.requester as Parameters<typeof requesterFields>[0]['requester'], requestId: job.id });
  const details = (check: SafetyCheck) => ({
    reason: 'safety',
    code: DaemonErrorCode.OutputWithheld,
    ...who,
    model: pkg.name,
    labels: check.labels,
    classifiers: check.looks.map((l) => ({ source: l.source, frames: l.scores.frames, scores: l.scores.byLabel, flagged: l.flagged.map((f) => f.label) })),
    ms: Math.round(check.ms * 10) / 10,
    ...(options.logPrompts ? { prompt: excerpt(job.spec.prompt, LOGGED_PROMPT_CHARS), negativePrompt: excerpt(job.spec.negativePrompt, LOGGED_PROMPT_CHARS) } : {}),
  });
  let previewFlagged = false;
  return {
    screenClip: async (video) => {
      const check = await safety.enforce(video, pkg, (c) => log.warn('clip withheld', details(c)));
      log.debug('output safety check passed', { ms: check.ms, scores: check.looks.map((l) => l.scores.byLabel) });
    },
    screenPreview: async (frames) => {
      const check = await safety.check(frames, pkg);
      if (check.withheld && !previewFlagged) {
        previewFlagged = true;
        log.info('previews stopped: the output safety check flagged one', details(check));
      }
      return !check.withheld;
    },
  };
}
