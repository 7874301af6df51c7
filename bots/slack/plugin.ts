// The Slack front-end as a Bolt plugin: registerAnimate(app, options) mounts /animate, the job buttons, the
// Refine modal and app_mention (thread refinement and Q&A) into any Bolt App, and returns an API other
// code in that app can call to reply with a clip. Everything here only translates: the bot core decides. This file
// wires the parts: the command (command.ts), the buttons and modal (buttons.ts) and mentions (mentions.ts).
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ChatAdapter, ChatAdapterLimits } from '../core/adapter.ts';
import type { AnimateResult, BotCore } from '../core/api.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { JobOutcome } from '../core/jobs.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import type { AnimateOptions } from '../core/options.ts';
import { SlackAdmins } from './admins.ts';
import { BackgroundWork } from './background-work.ts';
import { registerButtons, registerRefineModal } from './buttons.ts';
import { registerCommand } from './command.ts';
import { RecentKeys } from './dedupe.ts';
import type { SlackImageSettings } from './image-files.ts';
import { registerMentions } from './mentions.ts';
import { slackRequester, surfaceFor, type SlackPluginContext } from './plugin-context.ts';
import { SlackRateGate } from './rate-gate.ts';
import { countSlackRateLimits, type SlackRateLimitCounter } from './rate-limits.ts';
import { slackThreadId } from './surface.ts';

export interface SlackAnimateOptions {
  /** The platform-neutral core (createBotCore) this front-end drives; shared with other front-ends if you like. */
  core: BotCore;
  /** Slash command name; default DEFAULT_SLACK_COMMAND ('/animate'). */
  command?: string;
  /** User ids that may cancel anyone's job; workspace admins and owners (users.info) always may. */
  adminUserIds?: readonly string[];
  /** Default DEFAULT_SLACK_LIMITS: 1500 ms between updates of one job, 1 GB uploads (lower it to your workspace's limit). */
  limits?: Partial<ChatAdapterLimits>;
  /** Minimum spacing of preview uploads of one job; default DEFAULT_PREVIEW_INTERVAL_MS (4000 ms: each preview is three API calls). */
  previewIntervalMs?: number;
  /** Shared per-workspace budget for chat.update / posting; default: one gate per plugin. */
  rateGate?: SlackRateGate;
  clock?: Clock;
  logger?: Logger;
  /** How long retried event ids / trigger ids are remembered; default DEFAULT_DEDUPE_TTL_MS (1 h). */
  dedupeTtlMs?: number;
  /** Shared images: hosts (default files.slack.com), size and time bounds (bots/slack/image-files.ts). */
  images?: SlackImageSettings;
}

export interface ReplyWithClipRequest {
  channel: string;
  /** Reply in this thread; absent: a new message in the channel starts the thread. */
  threadTs?: string;
  /** Who the clip is for (shown, and used for per-user limits). */
  userId: string;
  teamId?: string;
  /** A question ("how does a ball bounce?") is turned into a prompt; a prompt is animated as is. */
  question?: string;
  prompt?: string;
  options?: Partial<Omit<AnimateOptions, 'prompt'>>;
  /** Idempotency key: the same key never starts a second generation. */
  requestId?: string;
  /** Client to post with; default the App's client. */
  client?: WebClient;
}

export interface SlackAnimatePlugin {
  readonly adapter: ChatAdapter;
  /** For other apps: reply in a channel or thread with a clip. Resolves when the job has ended. */
  replyWithClip(request: ReplyWithClipRequest): Promise<JobOutcome[]>;
  /** Resolves when every job started through this plugin so far has ended (tests, graceful shutdown). */
  idle(): Promise<void>;
}

export const DEFAULT_SLACK_LIMITS: ChatAdapterLimits = { minUpdateIntervalMs: 1500, maxUploadBytes: 1024 * 1024 * 1024 };
export const DEFAULT_SLACK_COMMAND = '/animate';
export const DEFAULT_PREVIEW_INTERVAL_MS = 4000;
export const DEFAULT_DEDUPE_TTL_MS = 3600_000;

function contextFor(options: SlackAnimateOptions): SlackPluginContext {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger('[slack]');
  const adapter: ChatAdapter = { platform: 'slack', limits: { ...DEFAULT_SLACK_LIMITS, ...options.limits }, clipFormats: ['mp4'], previewFormat: 'webp' };
  return {
    core: options.core,
    command: options.command ?? DEFAULT_SLACK_COMMAND,
    shared: { adapter, gate: options.rateGate ?? new SlackRateGate({ clock }), logger, previewIntervalMs: options.previewIntervalMs ?? DEFAULT_PREVIEW_INTERVAL_MS },
    recent: new RecentKeys(options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS, () => clock.now()),
    work: new BackgroundWork(logger),
    admins: new SlackAdmins(options.adminUserIds ?? [], clock, logger),
    clock,
    logger,
    images: options.images ?? {},
  };
}

/** For other apps: a clip of a prompt (or a question, rewritten) in a channel or thread. */
async function replyWithClip(app: App, ctx: SlackPluginContext, rateLimits: SlackRateLimitCounter, request: ReplyWithClipRequest): Promise<JobOutcome[]> {
  const client = request.client ?? app.client;
  rateLimits.watch(client);
  const requester = slackRequester(request.userId, request.channel, request.teamId);
  const surface = surfaceFor(ctx, client, request.channel, requester, request.threadTs);
  const extra = {
    ...(request.requestId ? { requestId: request.requestId } : {}),
    ...(request.threadTs ? { threadId: slackThreadId(request.channel, request.threadTs) } : {}),
  };
  let result: AnimateResult;
  if (request.question !== undefined && request.prompt === undefined) result = await ctx.core.ask(surface, request.question, requester, extra);
  else result = await ctx.core.animate(surface, requester, { variants: 1, ...request.options, prompt: request.prompt ?? request.question ?? '' }, extra);
  ctx.work.track(result);
  return result.finished;
}

export function registerAnimate(app: App, options: SlackAnimateOptions): SlackAnimatePlugin {
  const ctx = contextFor(options);
  // The 429s of every Web API client this app's listeners use, the standalone app's and a host's alike.
  const rateLimits = countSlackRateLimits(app, ctx.core.metrics, ctx.logger);
  registerCommand(app, ctx);
  registerButtons(app, ctx);
  registerRefineModal(app, ctx);
  registerMentions(app, ctx);
  return {
    adapter: ctx.shared.adapter,
    replyWithClip: (request) => replyWithClip(app, ctx, rateLimits, request),
    idle: () => ctx.work.idle(),
  };
}
