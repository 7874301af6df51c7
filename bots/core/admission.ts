// Admission: whether a request may start, and how many jobs it becomes. In order: a repeated idempotency key returns
// the first request's jobs; a closing core refuses; the content filter, the model's limits and the person's usage
// lease are checked (each refusal shown on the surface); then one job per variant, with neighbouring seeds and a
// surface of its own for each variant after the first.
import type { ModelInfo__Output } from '../../shared/rpc/types.ts';
import type { JobSurface, Requester } from './adapter.ts';
import type { AnimateExtra, AnimateResult } from './api.ts';
import type { ContentFilter } from './content-filter.ts';
import { InvalidStateError, JobCancelledError, NotAllowedError, toBotError } from './errors.ts';
import { requestKey, seedAfter, type IdSource } from './ids.ts';
import type { JobSpec } from './job-launch.ts';
import type { ChatJobs, JobRecord } from './jobs.ts';
import type { UsageLease, UsageLimiter } from './limits.ts';
import type { Logger } from './logger.ts';
import type { ModelCatalog } from './model-catalog.ts';
import { MAX_VARIANTS, checkAgainstModel, type AnimateOptions } from './options.ts';
import { refuse } from './refusal.ts';

export interface AdmissionContext {
  jobs: ChatJobs;
  catalog: ModelCatalog;
  limiter: UsageLimiter;
  /** Undefined: no content filter. */
  filter: ContentFilter | undefined;
  ids: IdSource;
  logger: Logger;
  /** True once the core is shutting down: new requests are refused. */
  isClosing(): boolean;
  /** Starts one admitted job (job-launch.ts in the core; a recorder in a unit test). */
  launch(spec: JobSpec): JobRecord;
}

/** Whether two requesters are the same person on the same platform and server (what a request key belongs to). */
const samePerson = (a: Requester, b: Requester): boolean => a.platform === b.platform && a.userId === b.userId && (a.serverId ?? '') === (b.serverId ?? '');

/**
 * Whether `input` asks for what `first` (the first job of an earlier request) was started with: the same options,
 * and the same seed when one is given (without one, the first job's seed was drawn).
 */
function sameRequest(first: JobRecord, input: AnimateOptions): boolean {
  if (input.seed !== undefined && first.options.seed !== input.seed) return false;
  // An image compares by its bytes (not serialised: it may be megabytes).
  if ((first.options.image === undefined) !== (input.image === undefined)) return false;
  if (first.options.image && input.image && !first.options.image.bytes.equals(input.image.bytes)) return false;
  const rest = (o: AnimateOptions) => JSON.stringify(Object.entries({ ...o, variants: undefined, seed: undefined, image: undefined }).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
  return rest(first.options) === rest(input);
}

/**
 * The jobs an earlier request with this key started (the first and its variants), if any. A key belongs to whoever
 * sent it first and to what they asked for: another person, or the same person asking for something else, is
 * refused rather than shown the earlier clip (as the daemon does with request_id).
 */
export function duplicateOf(jobs: ChatJobs, key: string, requester?: Requester, input?: AnimateOptions): AnimateResult | undefined {
  const first = jobs.get(key);
  if (!first) return undefined;
  if (requester && !samePerson(first.requester, requester)) throw new NotAllowedError('This request’s id is already used by someone else’s request, so it was not started. Send your command again.');
  if (input && !sameRequest(first, input)) throw new InvalidStateError('This request was already sent with other settings, so it was not started again. Send your command again as a new request.');
  const all = [first];
  for (let i = 2; i <= MAX_VARIANTS; i++) {
    const v = jobs.get(`${key}.v${i}`);
    if (v) all.push(v);
  }
  return { jobs: all, finished: Promise.all(all.map((j) => j.finished)), duplicate: true };
}

/**
 * The content filter's check of a request's texts (prompt, negative prompt); throws ContentRefusedError. Also
 * BotCore.checkContent, so an adapter can refuse privately before its public reply (Discord's deferral).
 */
export function checkContent(filter: ContentFilter | undefined, options: Pick<AnimateOptions, 'prompt' | 'negative'>): void {
  filter?.check(options.prompt);
  if (options.negative) filter?.check(options.negative, 'negative prompt');
}

/** The checks every request passes before anything starts; throws the BotError to show. */
async function check(ctx: AdmissionContext, options: AnimateOptions, requester: Requester): Promise<{ model: ModelInfo__Output | undefined; lease: UsageLease }> {
  checkContent(ctx.filter, options);
  const model = await ctx.catalog.find(options.model);
  if (model) checkAgainstModel(options, model);
  return { model, lease: ctx.limiter.acquire(requester, options.variants) };
}

/** Admits a request and starts its jobs; a refusal is shown on `surface` and returned with no jobs. */
export async function admit(ctx: AdmissionContext, surface: JobSurface, requester: Requester, input: AnimateOptions, extra: AnimateExtra = {}): Promise<AnimateResult> {
  const key = extra.requestId ? requestKey(extra.requestId) : undefined;
  let duplicate;
  try {
    duplicate = key ? duplicateOf(ctx.jobs, key, requester, input) : undefined;
  } catch (err) {
    return refuse(surface, toBotError(err), ctx.logger);
  }
  if (duplicate) return duplicate;
  const closing = () => refuse(surface, new JobCancelledError('The bot is shutting down; try again in a moment.'), ctx.logger);
  if (ctx.isClosing()) return closing();
  const options: AnimateOptions = { ...input, variants: Math.min(MAX_VARIANTS, Math.max(1, input.variants || 1)) };
  let admitted;
  try {
    admitted = await check(ctx, options, requester);
  } catch (err) {
    return refuse(surface, toBotError(err), ctx.logger);
  }
  // The checks may have waited (ListModels): a shutdown that began meanwhile has already taken its list of jobs to
  // stop, so a job launched now would never be told; refuse it instead.
  if (ctx.isClosing()) {
    admitted.lease.release();
    return closing();
  }
  const started = await startVariants(ctx, { surface, requester, options, extra, baseId: key ?? ctx.ids.jobId(requester.platform), ...admitted });
  return { jobs: started, finished: Promise.all(started.map((j) => j.finished)) };
}

interface Admitted {
  surface: JobSurface;
  requester: Requester;
  options: AnimateOptions;
  extra: AnimateExtra;
  baseId: string;
  model: ModelInfo__Output | undefined;
  lease: UsageLease;
}

/**
 * One job per variant: variant i gets seed base+i-1 (a random base when several are asked without a seed) and id
 * `<base>.v<i>`; a variant whose surface cannot be opened is skipped and its slot of the lease given back.
 */
async function startVariants(ctx: AdmissionContext, a: Admitted): Promise<JobRecord[]> {
  const count = a.options.variants;
  const baseSeed = a.options.seed ?? (count > 1 ? ctx.ids.seed() : undefined);
  const started: JobRecord[] = [];
  for (let i = 0; i < count; i++) {
    const variant = count > 1 ? { index: i + 1, count } : undefined;
    let surface = a.surface;
    if (i > 0) {
      try {
        surface = await a.surface.spawn({ reason: 'variant', label: `Variant ${i + 1} of ${count}`, requester: a.requester });
      } catch (err) {
        ctx.logger.error(`could not open a surface for variant ${i + 1}`, err);
        a.lease.releaseOne();
        continue;
      }
    }
    const seed = baseSeed === undefined ? undefined : seedAfter(baseSeed, i);
    const options: AnimateOptions = { ...a.options, variants: 1, ...(seed === undefined ? {} : { seed }) };
    const id = i === 0 ? a.baseId : `${a.baseId}.v${i + 1}`;
    started.push(ctx.launch({ id, surface, requester: a.requester, options, variant, model: a.model, seed, extra: a.extra, onEnd: () => a.lease.releaseOne() }));
  }
  return started;
}
