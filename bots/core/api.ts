// The bot core's contract with its adapters: the BotCore interface, its options and what its calls return. Kept
// apart from the wiring (bot.ts) so that the modules behind it (admission, actions, follow-ups, shutdown) can name
// these types without importing the factory that imports them.
import type { BotMetrics } from './metrics.ts';
import type { AnimatorClientOptions, AnimatorConnection } from '../../shared/rpc/client.ts';
import type { ListModelsResponse__Output } from '../../shared/rpc/types.ts';
import type { AcceptedJob, JobSurface, Requester } from './adapter.ts';
import type { Clock } from './clock.ts';
import type { ContentFilter, ContentFilterOptions } from './content-filter.ts';
import type { ConversationStore } from './conversation.ts';
import type { BotError } from './errors.ts';
import type { ChatJobs, ChatJobsOptions, JobOutcome, JobRecord } from './jobs.ts';
import type { UsageLimiter, UsageLimitsOptions } from './limits.ts';
import type { Logger } from './logger.ts';
import type { AnimateOptions } from './options.ts';
import type { LivenessOptions } from './watchdog.ts';

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
  /**
   * The bot's own blocklist, an optional extra in front of the daemon's prompt policy (content-filter.ts): it refuses
   * early and privately. false: none (the daemon still refuses). Default: DEFAULT_BLOCKED_TERMS, the daemon's default.
   */
  filter?: ContentFilter | ContentFilterOptions | false;
  jobs?: ChatJobsOptions;
  /** A hard cap on each whole job in ms (queue included), sent as the gRPC deadline. Default: none. */
  deadlineMs?: number;
  /**
   * Each job's ETA-derived deadline and stall watchdog: floors and multiples (bots/core/watchdog.ts). A job whose
   * daemon goes silent is cancelled and the person told (DAEMON_STALLED). Default: DEFAULT_LIVENESS.
   */
  liveness?: Partial<LivenessOptions>;
  /** How long a ListModels answer is reused. Default DEFAULT_MODEL_CACHE_MS (60 s). */
  modelCacheMs?: number;
  /** How many clips the Variations button makes. Default DEFAULT_VARIATIONS_COUNT (3). */
  variationsCount?: number;
  /** Random source for seeds and ids (0 ≤ x < 1). Default Math.random. */
  random?: () => number;
  /** Where the core counts jobs, acks and previews (metrics.ts); adapters add their 429s. Default: a BotMetrics of its own. */
  metrics?: BotMetrics;
}

export type JobAction =
  | { kind: 'cancel' }
  | { kind: 'reroll' }
  | { kind: 'variations'; count?: number }
  | { kind: 'refine'; prompt: string }
  /** A new clip continuing from this one's last frame; `prompt` (a follow-up's) replaces the clip's prompt. */
  | { kind: 'extend'; prompt?: string };

export interface AnimateExtra {
  /** Idempotency key (e.g. Slack's event id or Discord's interaction id): the same key never starts a second job. */
  requestId?: string;
  /** The conversation thread this request belongs to (else the surface's threadId, read when the job ends). */
  threadId?: string;
  parentId?: string;
  derivedFrom?: AcceptedJob['derivedFrom'];
  /** When the request arrived (the core's clock, ms), for animate_bot_ack_seconds. Default: when animate() was called. */
  receivedAt?: number;
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

/** Starts a job (or one per variant) on a surface: the one entry every other step goes through. */
export type AnimateFn = (surface: JobSurface, requester: Requester, options: AnimateOptions, extra?: AnimateExtra) => Promise<AnimateResult>;

export interface BotCore {
  readonly connection: AnimatorConnection;
  readonly jobs: ChatJobs;
  readonly conversations: ConversationStore;
  readonly limiter: UsageLimiter;
  /** The bots' Prometheus metrics (metrics.ts): served on /metrics; adapters count their platform's 429s here. */
  readonly metrics?: BotMetrics;
  /** The core's clock: adapters stamp a request's arrival (AnimateExtra.receivedAt) by it, the clock the ack is measured on. */
  readonly clock: Clock;
  /** Starts a job (or one per variant) on the surface. Refusals are shown with surface.fail() and returned. */
  animate: AnimateFn;
  /** The text syntax (`a ball --seed 4`, `help`): help text is returned, not shown; bad options go to surface.fail(). */
  animateText(surface: JobSurface, requester: Requester, text: string, extra?: AnimateExtra): Promise<TextResult>;
  /** A button. Throws BotError (NotAllowed, UnknownJob, InvalidState, …) for the adapter to show to the actor. */
  action(jobId: string, action: JobAction, actor: Requester): Promise<AnimateResult>;
  /** A follow-up in a thread: undefined when the thread has no clip yet (not for us); otherwise a refined job. */
  followUp(threadId: string, text: string, requester: Requester, surface?: JobSurface): Promise<AnimateResult | undefined>;
  /** Q&A: the question becomes a prompt (shown in accepted().derivedFrom) and is animated. */
  ask(surface: JobSurface, question: string, requester: Requester, extra?: AnimateExtra): Promise<AnimateResult>;
  /**
   * `/animate help` text for the model named (default: the daemon's default), with its ranges and styles; without
   * ranges if the daemon is unreachable. A name the daemon does not have opens the text with the models it has.
   */
  help(commandName?: string, model?: string): Promise<string>;
  /**
   * The core's content filter on a request's prompt and negative prompt, as animate() applies it first: throws
   * ContentRefusedError naming the term. For adapters that must refuse privately before any public reply (Discord
   * defers publicly; the refusal names the blocked term). No-op with `filter: false`.
   */
  checkContent(options: Pick<AnimateOptions, 'prompt' | 'negative'>): void;
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
