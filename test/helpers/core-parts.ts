// Small real parts for unit tests of one bot-core module alone: a model catalog over an in-memory ListModels
// answer, a job book with hand-made JobRecords, and a recorder of what a module hands on to `animate` / `launch`.
// Everything else (ChatJobs, UsageLimiter, ConversationStore, ManualClock) is the real class.
import type { ListModelsResponse__Output, ModelInfo__Output } from '../../shared/rpc/types.ts';
import type { JobSurface, Requester } from '../../bots/core/adapter.ts';
import type { AnimateExtra, AnimateResult } from '../../bots/core/api.ts';
import type { Clock } from '../../bots/core/clock.ts';
import type { JobOutcome, JobRecord, JobState } from '../../bots/core/jobs.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { ModelCatalog } from '../../bots/core/model-catalog.ts';
import type { AnimateOptions } from '../../bots/core/options.ts';

export function tinyModel(name = 'tiny', limits: Partial<NonNullable<ModelInfo__Output['limits']>> = {}): ModelInfo__Output {
  return {
    name,
    hash: 'h',
    description: '',
    defaults: { steps: 4, guidanceScale: 3, frames: 5, width: 32, height: 32, fps: 8, scheduler: 'euler', previewEveryNSteps: 1 },
    limits: {
      minSteps: 1, maxSteps: 20, minGuidance: 1, maxGuidance: 10, minFrames: 1, maxFrames: 16, temporalFactor: 1, sizeMultiple: 8,
      minSide: 32, maxSide: 64, minFps: 4, maxFps: 12, aspects: [], maxPromptChars: 200, ...limits,
    },
    vocabulary: [],
    examplePrompts: [],
    schedulers: ['euler'],
    styles: [],
    acceptsImage: false,
  };
}

/** A catalog whose daemon answers `list` (or fails when it is undefined); counts the ListModels calls. */
export function memoryCatalog(clock: Clock, list: ListModelsResponse__Output | undefined, cacheMs?: number) {
  const calls = { listModels: 0 };
  const connection = {
    listModels: async () => {
      calls.listModels++;
      if (!list) throw new Error('unreachable');
      return list;
    },
  };
  return { catalog: new ModelCatalog({ connection, clock, logger: silentLogger, cacheMs }), calls };
}

/** A job record as the core would hold it, in `state`, with a `finished` the test settles. */
export function handMadeJob(id: string, requester: Requester, surface: JobSurface, options: AnimateOptions, state: JobState = 'running', extra: Partial<JobRecord> = {}) {
  let settle!: (o: JobOutcome) => void;
  const finished = new Promise<JobOutcome>((r) => (settle = r));
  const job: JobRecord = { id, requester, options, surface, createdAt: 0, state, abort: new AbortController(), finished, ...extra };
  return { job, settle };
}

/** Records what a module passes on to the core's `animate` and answers with no jobs. */
export function recordingAnimate() {
  const calls: Array<{ surface: JobSurface; requester: Requester; options: AnimateOptions; extra: AnimateExtra | undefined }> = [];
  const animate = async (surface: JobSurface, requester: Requester, options: AnimateOptions, extra?: AnimateExtra): Promise<AnimateResult> => {
    calls.push({ surface, requester, options, extra });
    return { jobs: [], finished: Promise.resolve([]) };
  };
  return { animate, calls };
}
