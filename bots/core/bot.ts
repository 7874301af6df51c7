// The bot core: what every adapter calls. This file only wires its parts together: the connection, the job book
// (jobs.ts), conversations and threads, usage limits, the content filter and the model catalog, and the steps
// that use them: admission (admission.ts), the buttons (actions.ts), follow-ups and Q&A (follow-ups.ts) and
// shutdown (shutdown.ts); each job runs through job-launch.ts and job-runner.ts. Adapters translate platform events
// into these calls and JobSurface calls into platform messages; nothing here knows a platform.
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { JobSurface, Requester } from './adapter.ts';
import { runAction } from './actions.ts';
import { admit, checkContent } from './admission.ts';
import type { AnimateExtra, BotCore, BotCoreOptions, TextResult } from './api.ts';
import { systemClock } from './clock.ts';
import { createContentFilter, type ContentFilter } from './content-filter.ts';
import { ConversationStore } from './conversation.ts';
import { toBotError } from './errors.ts';
import { ask, followUp } from './follow-ups.ts';
import { createIdSource } from './ids.ts';
import { launchJob } from './job-launch.ts';
import { ChatJobs } from './jobs.ts';
import { UsageLimiter } from './limits.ts';
import { consoleLogger } from './logger.ts';
import { BotMetrics } from './metrics.ts';
import { ModelCatalog } from './model-catalog.ts';
import { helpText, parseTextCommand } from './options.ts';
import { refuse } from './refusal.ts';
import { CoreShutdown } from './shutdown.ts';
import { JobThreads } from './threads.ts';
import { resolveLiveness } from './watchdog.ts';

export type { AnimateExtra, AnimateFn, AnimateResult, BotCore, BotCoreOptions, CloseOptions, CloseSummary, JobAction, TextResult } from './api.ts';

/** The connection to use, and whether the core opened it (and so closes it on close()). */
function openConnection(options: BotCoreOptions): { connection: AnimatorConnection; owned: boolean } {
  if (options.connection) return { connection: options.connection, owned: false };
  if (options.daemonAddress) return { connection: connectAnimator(options.daemonAddress, { token: options.token, tls: options.tls }), owned: true };
  throw new TypeError('createBotCore needs either `connection` or `daemonAddress`');
}

function resolveFilter(filter: BotCoreOptions['filter']): ContentFilter | undefined {
  if (filter === false) return undefined;
  return filter && 'check' in filter ? filter : createContentFilter(filter || {});
}

export function createBotCore(options: BotCoreOptions): BotCore {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger('[bot-core]');
  // Checked before connecting, so a bad option leaves nothing open.
  const liveness = resolveLiveness(options.liveness);
  const { connection, owned } = openConnection(options);
  const metrics = options.metrics ?? new BotMetrics();

  const jobs = new ChatJobs(options.jobs);
  const conversations = new ConversationStore();
  const threads = new JobThreads(conversations, clock);
  const limiter = new UsageLimiter(options.limits, clock);
  const catalog = new ModelCatalog({ connection, clock, logger, cacheMs: options.modelCacheMs });
  const ids = createIdSource(clock, options.random);
  const shutdown = new CoreShutdown({ jobs, clock, logger, onClosed: () => { if (owned) connection.close(); } });
  const launch = { jobs, threads, connection, clock, logger, deadlineMs: options.deadlineMs, liveness, metrics };
  const admission = { jobs, catalog, limiter, filter: resolveFilter(options.filter), ids, logger, isClosing: () => shutdown.closing, launch: launchJob.bind(null, launch) };

  // The request's arrival is stamped here, the one entry every request goes through (for animate_bot_ack_seconds).
  const animate: BotCore['animate'] = (surface, requester, input, extra) => admit(admission, surface, requester, input, { receivedAt: clock.now(), ...extra });
  const actions = { jobs, connection, clock, logger, ids, variationsCount: options.variationsCount, animate };
  const followUps = { conversations, jobs, catalog, ids, logger, animate };

  async function help(commandName = '/animate', modelName?: string): Promise<string> {
    try {
      return helpText(await catalog.find(modelName), commandName);
    } catch (err) {
      // An unknown model: say which there are, then the default's help (the find of undefined never throws).
      const model = await catalog.find(undefined).catch(() => undefined);
      return `${toBotError(err).message}\n\n${helpText(model, commandName)}`;
    }
  }

  async function animateText(surface: JobSurface, requester: Requester, text: string, extra?: AnimateExtra): Promise<TextResult> {
    let parsed;
    try {
      parsed = parseTextCommand(text);
    } catch (err) {
      return { kind: 'animate', ...(await refuse(surface, toBotError(err), logger)) };
    }
    if (parsed.kind === 'help') return { kind: 'help', text: await help(undefined, parsed.model) };
    return { kind: 'animate', ...(await animate(surface, requester, parsed.options, extra)) };
  }

  return {
    connection,
    jobs,
    conversations,
    limiter,
    metrics,
    clock,
    animate,
    animateText,
    action: (jobId, act, actor) => runAction(actions, jobId, act, actor),
    followUp: (threadId, text, requester, surface) => followUp(followUps, threadId, text, requester, surface),
    ask: (surface, question, requester, extra) => ask(followUps, surface, question, requester, extra),
    help,
    checkContent: (options) => checkContent(admission.filter, options),
    models: () => catalog.list(),
    linkThread(threadId, jobId) {
      const job = jobs.get(jobId);
      if (job) threads.record(job, threadId);
    },
    close: (closeOptions) => shutdown.close(closeOptions),
  };
}
