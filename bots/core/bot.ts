// The bot core: what every adapter calls. It owns the job registry, per-thread conversations, usage limits and
// the content filter, and drives each job's surface through job-runner. Adapters translate platform events into
// these calls and JobSurface calls into platform messages; nothing here knows a platform.
import { connectAnimator, type AnimatorConnection, type AnimatorClientOptions } from '../../shared/rpc/client.ts';
import type { ListModelsResponse__Output, ModelInfo__Output } from '../../shared/rpc/types.ts';
import type { AcceptedJob, JobSurface, Requester, SpawnReason } from './adapter.ts';
import { systemClock, type Clock } from './clock.ts';
import { createContentFilter, type ContentFilter, type ContentFilterOptions } from './content-filter.ts';
import { ConversationStore, refinePrompt } from './conversation.ts';
import {
  BotError,
  CancelledError,
  DaemonUnavailableError,
  InvalidOptionsError,
  InvalidStateError,
  NotAllowedError,
  UnknownJobError,
  UnknownModelError,
  toBotError,
} from './errors.ts';
import { runJob } from './job-runner.ts';
import { JobRegistry, isActive, type JobOutcome, type JobRecord, type JobRegistryOptions } from './jobs.ts';
import { UsageLimiter, type UsageLimitsOptions } from './limits.ts';
import { consoleLogger, type Logger } from './logger.ts';
import { MAX_SEED, MAX_VARIANTS, checkAgainstModel, helpText, parseTextCommand, type AnimateOptions } from './options.ts';
import { questionToPrompt } from './qa.ts';
import { buildGenerateRequest } from './request.ts';
import { resolveLiveness, type LivenessOptions } from './watchdog.ts';

export interface BotCoreOptions {
  /** An existing connection (shared with other code); the core does not close it. */
  connection?: AnimatorConnection;
  /** Or a daemon address ('host:port') to connect to; the core closes this connection on close(). */
  daemonAddress?: string;
  /** Bearer token for the daemon (with daemonAddress). */
  token?: string | undefined;
  /** TLS to the daemon (with daemonAddress): true = system roots, or a CA / client certificate. Default: plaintext. */
  tls?: AnimatorClientOptions['tls'];
  clock?: Clock;
  logger?: Logger;
  /** Per-user / per-server limits (defaults: DEFAULT_USAGE_LIMITS). */
  limits?: Partial<UsageLimitsOptions>;
  /** Content filter or its options; false disables it. Default: DEFAULT_BLOCKED_TERMS. */
  filter?: ContentFilter | ContentFilterOptions | false;
  jobs?: JobRegistryOptions;
  /** A hard cap on each whole job in ms (queue included), sent as the gRPC deadline. Default: none. */
  deadlineMs?: number;
  /**
   * Each job's ETA-derived deadline and stall watchdog: floors and multiples (bots/core/watchdog.ts). A job whose
   * daemon goes silent is cancelled and the person told (daemon_stalled). Default: DEFAULT_LIVENESS.
   */
  liveness?: Partial<LivenessOptions>;
  /** How long a ListModels answer is reused. Default 60 s. */
  modelCacheMs?: number;
  /** How many clips the Variations button makes. Default 3. */
  variationsCount?: number;
  /** Random source for seeds and ids (0 ≤ x < 1). Default Math.random. */
  random?: () => number;
}

export type JobAction =
  | { kind: 'cancel' }
  | { kind: 'reroll' }
  | { kind: 'variations'; count?: number }
  | { kind: 'refine'; prompt: string };

export interface AnimateExtra {
  /** Idempotency key (e.g. Slack's event id or Discord's interaction id): the same key never starts a second job. */
  requestId?: string;
  /** The conversation thread this request belongs to (else the surface's threadId, read when the job ends). */
  threadId?: string;
  parentId?: string;
  derivedFrom?: AcceptedJob['derivedFrom'];
}

export interface AnimateResult {
  /** The jobs started (one per variant); empty when refused. */
  readonly jobs: readonly JobRecord[];
  /** Resolves when every job has ended and its surface has been told. */
  readonly finished: Promise<JobOutcome[]>;
  /** Why nothing started (already shown on the surface with fail()). */
  readonly error?: BotError;
  /** For follow-ups / refinements: what was understood, e.g. `colour: blue`. */
  readonly refinement?: string;
  /** True when an earlier request with the same requestId is being returned instead of a new one. */
  readonly duplicate?: boolean;
}

export type TextResult = { kind: 'help'; text: string } | ({ kind: 'animate' } & AnimateResult);

export interface BotCore {
  readonly connection: AnimatorConnection;
  readonly jobs: JobRegistry;
  readonly conversations: ConversationStore;
  readonly limiter: UsageLimiter;
  /** Starts a job (or one per variant) on the surface. Refusals are shown with surface.fail() and returned. */
  animate(surface: JobSurface, requester: Requester, options: AnimateOptions, extra?: AnimateExtra): Promise<AnimateResult>;
  /** The text syntax (`a ball --seed 4`, `help`): help text is returned, not shown; bad options go to surface.fail(). */
  animateText(surface: JobSurface, requester: Requester, text: string, extra?: AnimateExtra): Promise<TextResult>;
  /** A button. Throws BotError (NotAllowed, UnknownJob, InvalidState, …) for the adapter to show to the actor. */
  action(jobId: string, action: JobAction, actor: Requester): Promise<AnimateResult>;
  /** A follow-up in a thread: undefined when the thread has no clip yet (not for us); otherwise a refined job. */
  followUp(threadId: string, text: string, requester: Requester, surface?: JobSurface): Promise<AnimateResult | undefined>;
  /** Q&A: the question becomes a prompt (shown in accepted().derivedFrom) and is animated. */
  ask(surface: JobSurface, question: string, requester: Requester, extra?: AnimateExtra): Promise<AnimateResult>;
  /** `/animate help` text for the default model (or without ranges if the daemon is unreachable). */
  help(commandName?: string): Promise<string>;
  /** ListModels, cached; undefined when the daemon cannot be reached. */
  models(): Promise<ListModelsResponse__Output | undefined>;
  /** Ties a thread to a job, so follow-ups there refine it (for adapters that create the thread late). */
  linkThread(threadId: string, jobId: string): void;
  /**
   * Shuts the core down in the order that keeps every person informed: takes no new requests, tells the people
   * still waiting (not started yet) to send again, lets the running jobs finish for up to `drainMs` (their clips are
   * delivered), stops whatever still runs then (its person is told too), and closes the connection if the core opened
   * it. Called again while closing with `drainMs: 0` (a second Ctrl-C), it stops the running jobs now.
   */
  close(options?: CloseOptions): Promise<CloseSummary>;
}

export interface CloseOptions {
  /** How long running jobs may take to finish before they are stopped, in ms. Default 0: stop them at once. */
  drainMs?: number;
}

/** What close() did, for the shutdown log line. */
export interface CloseSummary {
  /** Jobs that finished with their clip delivered while the core drained. */
  delivered: number;
  /** People whose job had not started yet, told to send it again. */
  toldToResend: number;
  /** Jobs still running when the drain ended, stopped (their person told to send again). */
  stopped: number;
}

/** How long close() waits for stopped jobs to tell their surfaces (a bound on a broken surface, real time). */
const STOP_WAIT_MS = 5000;

const safeId = (s: string) => s.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 120);

export function createBotCore(options: BotCoreOptions): BotCore {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger('[bot-core]');
  const random = options.random ?? Math.random;
  // Checked before connecting, so a bad option leaves nothing open.
  const liveness = resolveLiveness(options.liveness);
  let ownsConnection = false;
  let connection: AnimatorConnection;
  if (options.connection) connection = options.connection;
  else if (options.daemonAddress) {
    connection = connectAnimator(options.daemonAddress, { token: options.token, tls: options.tls });
    ownsConnection = true;
  } else throw new TypeError('createBotCore needs either `connection` or `daemonAddress`');

  const jobs = new JobRegistry(options.jobs);
  const conversations = new ConversationStore();
  const limiter = new UsageLimiter(options.limits, clock);
  const filter = options.filter === false ? undefined : options.filter && 'check' in options.filter ? options.filter : createContentFilter(options.filter || {});
  const modelCacheMs = options.modelCacheMs ?? 60_000;
  const deadlineMs = options.deadlineMs;
  let modelCache: { at: number; value: ListModelsResponse__Output } | undefined;
  let closing = false;

  const randomSeed = () => Math.floor(random() * (MAX_SEED + 1));
  const newJobId = (platform: string) => `${platform}-${clock.now().toString(36)}-${Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0')}`;

  async function models(): Promise<ListModelsResponse__Output | undefined> {
    if (modelCache && clock.now() - modelCache.at < modelCacheMs) return modelCache.value;
    try {
      const value = await connection.listModels();
      modelCache = { at: clock.now(), value };
      return value;
    } catch (err) {
      logger.warn('ListModels failed; options are checked by the daemon only', err);
      return undefined;
    }
  }

  async function modelFor(name: string | undefined): Promise<ModelInfo__Output | undefined> {
    const list = await models();
    if (!list) return undefined;
    const wanted = name ?? list.defaultModel;
    const model = list.models.find((m) => m.name === wanted);
    if (!model && name !== undefined)
      throw new UnknownModelError(`There is no model "${name}". Models: ${list.models.map((m) => m.name).join(', ') || 'none loaded'}.`);
    return model;
  }

  const refused = async (surface: JobSurface, error: BotError): Promise<AnimateResult> => {
    try {
      await surface.fail(error);
    } catch (err) {
      logger.error('could not show a refusal', err);
    }
    return { jobs: [], finished: Promise.resolve([]), error };
  };

  async function animate(surface: JobSurface, requester: Requester, input: AnimateOptions, extra: AnimateExtra = {}): Promise<AnimateResult> {
    const key = extra.requestId ? safeId(extra.requestId) : undefined;
    if (key) {
      const existing = jobs.get(key);
      if (existing) {
        const all = [existing];
        for (let i = 2; i <= MAX_VARIANTS; i++) {
          const v = jobs.get(`${key}.v${i}`);
          if (v) all.push(v);
        }
        return { jobs: all, finished: Promise.all(all.map((j) => j.finished)), duplicate: true };
      }
    }
    if (closing) return refused(surface, new CancelledError('The bot is shutting down; try again in a moment.'));
    const options: AnimateOptions = { ...input, variants: Math.min(MAX_VARIANTS, Math.max(1, input.variants || 1)) };
    let model: ModelInfo__Output | undefined;
    let lease;
    try {
      filter?.check(options.prompt);
      model = await modelFor(options.model);
      if (model) checkAgainstModel(options, model);
      lease = limiter.acquire(requester, options.variants);
    } catch (err) {
      return refused(surface, toBotError(err));
    }

    const count = options.variants;
    const baseSeed = options.seed ?? (count > 1 ? randomSeed() : undefined);
    const baseId = key ?? newJobId(requester.platform);
    const started: JobRecord[] = [];
    for (let i = 0; i < count; i++) {
      const variant = count > 1 ? { index: i + 1, count } : undefined;
      let jobSurface = surface;
      if (i > 0) {
        try {
          jobSurface = await surface.spawn({ reason: 'variant', label: `Variant ${i + 1} of ${count}`, requester });
        } catch (err) {
          logger.error(`could not open a surface for variant ${i + 1}`, err);
          lease.releaseOne();
          continue;
        }
      }
      const seed = baseSeed === undefined ? undefined : (baseSeed + i) % (MAX_SEED + 1);
      const job = startJob(jobSurface, requester, { ...options, variants: 1, ...(seed === undefined ? {} : { seed }) }, {
        id: i === 0 ? baseId : `${baseId}.v${i + 1}`,
        variant,
        model,
        seed,
        extra,
        onEnd: () => lease.releaseOne(),
      });
      started.push(job);
    }
    return { jobs: started, finished: Promise.all(started.map((j) => j.finished)) };
  }

  function startJob(
    surface: JobSurface,
    requester: Requester,
    options: AnimateOptions,
    meta: { id: string; variant: { index: number; count: number } | undefined; model: ModelInfo__Output | undefined; seed: number | undefined; extra: AnimateExtra; onEnd: () => void },
  ): JobRecord {
    let resolveFinished!: (o: JobOutcome) => void;
    const finished = new Promise<JobOutcome>((r) => (resolveFinished = r));
    const job: JobRecord = {
      id: meta.id,
      requester,
      options,
      surface,
      parentId: meta.extra.parentId,
      variant: meta.variant,
      createdAt: clock.now(),
      state: 'accepted',
      seed: meta.seed,
      abort: new AbortController(),
      finished,
    };
    jobs.add(job, clock.now());
    recordThread(job, meta.extra.threadId ?? surface.threadId);

    const accepted: AcceptedJob = {
      jobId: job.id,
      options,
      prompt: options.prompt,
      requester,
      ...(meta.extra.derivedFrom ? { derivedFrom: meta.extra.derivedFrom } : {}),
      ...(meta.variant ? { variant: meta.variant } : {}),
    };
    const request = buildGenerateRequest(options, { jobId: job.id, requester, adapter: surface.adapter, model: meta.model, seed: meta.seed });
    void (async () => {
      let outcome: JobOutcome;
      try {
        try {
          await surface.accepted(accepted);
        } catch (err) {
          logger.warn(`job ${job.id}: accepted() failed`, err);
        }
        // A surface may open its thread when the job is accepted (Slack's parent message): known from now on, so that a
        // reply typed the moment the clip shows refines this job even if it arrives before the job's end is processed.
        recordThread(job, surface.threadId);
        outcome = await runJob(job, request, { connection, clock, logger, deadlineMs, liveness });
      } catch (err) {
        // runJob never rejects; this is a last resort so `finished` always settles.
        outcome = { jobId: job.id, status: 'failed', error: toBotError(err) };
      }
      meta.onEnd();
      if (outcome.status === 'delivered') {
        recordThread(job, surface.threadId);
        if (job.thread) conversations.completed(job.thread, job.id, { seed: outcome.info.seed, fps: outcome.info.fps });
      }
      resolveFinished(outcome);
    })();
    return job;
  }

  async function animateText(surface: JobSurface, requester: Requester, text: string, extra?: AnimateExtra): Promise<TextResult> {
    let parsed;
    try {
      parsed = parseTextCommand(text);
    } catch (err) {
      return { kind: 'animate', ...(await refused(surface, toBotError(err))) };
    }
    if (parsed.kind === 'help') return { kind: 'help', text: await help() };
    return { kind: 'animate', ...(await animate(surface, requester, parsed.options, extra)) };
  }

  async function spawnFrom(job: JobRecord, reason: SpawnReason, label: string, actor: Requester): Promise<JobSurface> {
    try {
      return await job.surface.spawn({ reason, label, requester: actor });
    } catch (err) {
      throw toBotError(err, 'Could not post a new message for this clip here.');
    }
  }

  async function action(jobId: string, act: JobAction, actor: Requester): Promise<AnimateResult> {
    const job = jobs.get(jobId, clock.now());
    if (!job) throw new UnknownJobError('The bot no longer remembers that clip (it may have restarted). Start a new /animate.');
    const seedOf = (j: JobRecord) => j.result?.seed ?? j.seed;
    switch (act.kind) {
      case 'cancel': {
        if (actor.userId !== job.requester.userId && !actor.isModerator)
          throw new NotAllowedError(`Only ${job.requester.displayName ?? 'the person who asked'} or a moderator can cancel this clip.`);
        if (!isActive(job)) throw new InvalidStateError(`This clip is already ${job.state === 'delivered' ? 'done' : job.state}; there is nothing to cancel.`);
        job.cancelledBy = actor.displayName ?? actor.userId;
        try {
          const res = await connection.cancel(job.id, `cancelled by ${job.cancelledBy}`);
          // Not yet known to the daemon (still connecting) or the RPC did nothing: stop our side of the call.
          if (!res.cancelled && res.state !== 'finished') job.abort.abort();
        } catch (err) {
          logger.warn(`cancel RPC for ${job.id} failed; aborting the call`, err);
          job.abort.abort();
        }
        return { jobs: [], finished: job.finished.then((o) => [o]) };
      }
      case 'reroll': {
        const surface = await spawnFrom(job, 'reroll', `Reroll of "${job.options.prompt}"`, actor);
        return animate(surface, actor, { ...job.options, variants: 1, seed: randomSeed() }, { parentId: job.id });
      }
      case 'variations': {
        const count = Math.min(MAX_VARIANTS, Math.max(1, act.count ?? options.variationsCount ?? 3));
        const base = seedOf(job) ?? randomSeed();
        const surface = await spawnFrom(job, 'variations', `Variations of "${job.options.prompt}"`, actor);
        return animate(surface, actor, { ...job.options, variants: count, seed: (base + 1) % (MAX_SEED + 1) }, { parentId: job.id });
      }
      case 'refine': {
        const prompt = act.prompt.trim();
        if (!prompt) throw new InvalidOptionsError('The refined prompt is empty: describe what to animate.', 'prompt');
        const seed = seedOf(job);
        const surface = await spawnFrom(job, 'refine', `Refined: ${prompt}`, actor);
        return animate(surface, actor, { ...job.options, prompt, variants: 1, ...(seed === undefined ? {} : { seed }) }, {
          parentId: job.id,
          derivedFrom: { kind: 'refinement', text: prompt, previousPrompt: job.options.prompt },
          ...(surface.threadId ? { threadId: surface.threadId } : {}),
        });
      }
    }
  }

  async function followUp(threadId: string, text: string, requester: Requester, surface?: JobSurface): Promise<AnimateResult | undefined> {
    const state = conversations.get(threadId);
    if (!state) return undefined;
    const model = await modelFor(state.options.model).catch(() => undefined);
    const refinement = refinePrompt(state.prompt, text, {
      fps: state.fps ?? state.options.fps ?? model?.defaults?.fps,
      minFps: model?.limits?.minFps,
      maxFps: model?.limits?.maxFps,
      negative: state.options.negative,
    });
    const seed = refinement.changes.newSeed ? randomSeed() : (state.seed ?? state.options.seed);
    const next: AnimateOptions = {
      ...state.options,
      prompt: refinement.prompt,
      variants: 1,
      ...(seed === undefined ? {} : { seed }),
      ...(refinement.changes.fps !== undefined ? { fps: refinement.changes.fps } : {}),
      ...(refinement.changes.negative !== undefined ? { negative: refinement.changes.negative } : {}),
    };
    let target = surface;
    if (!target) {
      const last = jobs.get(state.lastJobId);
      if (!last) throw new UnknownJobError('The bot no longer remembers this thread’s clip. Start a new /animate.');
      target = await spawnFrom(last, 'follow-up', `Refined (${refinement.summary}): ${refinement.prompt}`, requester);
    }
    const result = await animate(target, requester, next, {
      threadId,
      parentId: state.lastJobId,
      derivedFrom: { kind: 'refinement', text, previousPrompt: state.prompt },
    });
    return { ...result, refinement: refinement.summary };
  }

  async function ask(surface: JobSurface, question: string, requester: Requester, extra: AnimateExtra = {}): Promise<AnimateResult> {
    const prompt = questionToPrompt(question);
    if (!prompt) return refused(surface, new InvalidOptionsError('Ask a question or describe something to animate.', 'prompt'));
    return animate(surface, requester, { prompt, variants: 1 }, { ...extra, derivedFrom: { kind: 'question', text: question } });
  }

  async function help(commandName = '/animate'): Promise<string> {
    const model = await modelFor(undefined).catch(() => undefined);
    return helpText(model, commandName);
  }

  /**
   * Makes `job` the latest job of `threadId` as soon as the thread is known (at start, when the surface opens it, or
   * when an adapter links it): a follow-up can arrive the moment the clip shows. Only once per thread, so a follow-up
   * recorded there since stays the latest.
   */
  function recordThread(job: JobRecord, threadId: string | undefined): void {
    if (!threadId || job.thread === threadId) return;
    job.thread = threadId;
    conversations.record(threadId, job.id, job.options, clock.now());
    if (job.result) conversations.completed(threadId, job.id, { seed: job.result.seed, fps: job.result.fps });
  }

  function linkThread(threadId: string, jobId: string): void {
    const job = jobs.get(jobId);
    if (job) recordThread(job, threadId);
  }

  let closed: Promise<CloseSummary> | undefined;
  let hurry: (() => void) | undefined;

  /** Stops one job with a message for its person; its `finished` settles once the surface has been told. */
  function stopForShutdown(job: JobRecord): void {
    if (!isActive(job) || job.stopReason || job.abort.signal.aborted) return;
    job.stopReason =
      job.state === 'running'
        ? new DaemonUnavailableError('The bot is shutting down and stopped this clip before it was finished. Send it again once it is back.')
        : new DaemonUnavailableError('The bot is shutting down, so this clip was not started. Send it again once it is back.');
    job.abort.abort();
  }

  function close(closeOptions: CloseOptions = {}): Promise<CloseSummary> {
    const drainMs = closeOptions.drainMs ?? 0;
    if (!(drainMs >= 0 && Number.isFinite(drainMs))) return Promise.reject(new RangeError(`close(): drainMs must be a finite number of milliseconds ≥ 0, got ${drainMs}`));
    if (closed) {
      if (drainMs === 0) hurry?.();
      return closed;
    }
    closing = true;
    closed = (async () => {
      const active = jobs.active();
      // Not started yet: a drain would make them wait for nothing (the daemon takes no new work either). Told at once.
      const waiting = active.filter((j) => j.state !== 'running');
      const running = active.filter((j) => j.state === 'running');
      for (const job of waiting) stopForShutdown(job);
      if (running.length && drainMs > 0) {
        logger.info(`shutting down: waiting up to ${Math.round(drainMs / 1000)} s for ${running.length} running clip(s); ${waiting.length} waiting told to send again`);
        let timer: ReturnType<Clock['setTimeout']> | undefined;
        await Promise.race([
          Promise.all(running.map((j) => j.finished)),
          new Promise<void>((resolve) => {
            hurry = resolve;
            timer = clock.setTimeout(resolve, drainMs);
          }),
        ]);
        if (timer) clock.clearTimeout(timer);
      }
      // Whatever is still active (running past the drain, or started while close() began) is stopped and told.
      const left = jobs.active();
      for (const job of left) stopForShutdown(job);
      const all = [...new Set([...active, ...left])];
      await Promise.race([Promise.all(all.map((j) => j.finished)), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
      if (ownsConnection) connection.close();
      return {
        delivered: running.filter((j) => j.state === 'delivered').length,
        toldToResend: all.length - running.length,
        stopped: left.filter((j) => running.includes(j)).length,
      };
    })();
    return closed;
  }

  return { connection, jobs, conversations, limiter, animate, animateText, action, followUp, ask, help, models, linkThread, close };
}
