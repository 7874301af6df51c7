// The Slack front-end as a Bolt plugin: registerAnimate(app, options) mounts /animate, the job buttons, the
// Refine modal and app_mention (thread refinement and Q&A) into any Bolt App, and returns an API other
// code in that app can call to reply with a clip. Everything here only translates: the bot core decides.
import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ChatAdapter, ChatAdapterLimits, Requester } from '../core/adapter.ts';
import type { AnimateResult, BotCore, JobAction } from '../core/bot.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { UnknownJobError, toBotError, type BotError } from '../core/errors.ts';
import type { JobOutcome } from '../core/jobs.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import type { AnimateOptions } from '../core/options.ts';
import { RecentKeys } from './dedupe.ts';
import { ACTION_IDS, errorText, REFINE_BLOCK_ID, REFINE_CALLBACK_ID, REFINE_INPUT_ID, refineModal, type ButtonKind } from './format.ts';
import { SlackRateGate } from './rate-gate.ts';
import { SlackJobSurface, slackThreadId, type EphemeralResponder, type SlackSurfaceShared } from './surface.ts';

export interface SlackAnimateOptions {
  /** The platform-neutral core (createBotCore) this front-end drives; shared with other front-ends if you like. */
  core: BotCore;
  /** Slash command name; default '/animate'. */
  command?: string;
  /** User ids that may cancel anyone's job; workspace admins and owners (users.info) always may. */
  adminUserIds?: readonly string[];
  /** Default: 1500 ms between updates of one job, 1 GB uploads (lower it to your workspace's limit). */
  limits?: Partial<ChatAdapterLimits>;
  /** Minimum spacing of preview uploads of one job; default 4000 ms (each preview is three API calls). */
  previewIntervalMs?: number;
  /** Shared per-workspace budget for chat.update / posting; default: one gate per plugin. */
  rateGate?: SlackRateGate;
  clock?: Clock;
  logger?: Logger;
  /** How long retried event ids / trigger ids are remembered; default 1 h. */
  dedupeTtlMs?: number;
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

const ACTION_PATTERN = new RegExp(`^(${Object.values(ACTION_IDS).join('|')})$`);
const KIND_BY_ACTION = Object.fromEntries(Object.entries(ACTION_IDS).map(([kind, id]) => [id, kind])) as Record<string, ButtonKind>;

interface RefineMetadata {
  jobId: string;
  channel: string;
}

export function registerAnimate(app: App, options: SlackAnimateOptions): SlackAnimatePlugin {
  const core = options.core;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger('[slack]');
  const command = options.command ?? '/animate';
  const admins = new Set(options.adminUserIds ?? []);
  const adapter: ChatAdapter = { platform: 'slack', limits: { ...DEFAULT_SLACK_LIMITS, ...options.limits }, clipFormats: ['mp4'], previewFormat: 'webp' };
  const shared: SlackSurfaceShared = {
    adapter,
    gate: options.rateGate ?? new SlackRateGate({ clock }),
    logger,
    previewIntervalMs: options.previewIntervalMs ?? 4000,
  };
  const recent = new RecentKeys(options.dedupeTtlMs ?? 3600_000, () => clock.now());
  const inFlight = new Set<Promise<unknown>>();
  const adminCache = new Map<string, { at: number; admin: boolean }>();

  /** Runs work after the ack without holding the request; errors are logged, never lost silently. */
  const background = (what: string, work: () => Promise<unknown>): void => {
    const p = work()
      .catch((err: unknown) => logger.error(`slack: ${what} failed`, err))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const track = (result: AnimateResult | undefined): void => {
    if (!result) return;
    const p = result.finished.catch(() => undefined).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  async function isAdmin(client: WebClient, userId: string): Promise<boolean> {
    if (admins.has(userId)) return true;
    const cached = adminCache.get(userId);
    if (cached && clock.now() - cached.at < 10 * 60_000) return cached.admin;
    try {
      const info = await client.users.info({ user: userId });
      const admin = Boolean(info.user?.is_admin || info.user?.is_owner || info.user?.is_primary_owner);
      adminCache.set(userId, { at: clock.now(), admin });
      return admin;
    } catch (err) {
      logger.warn('slack: users.info failed; treating the user as not an admin', err);
      return false;
    }
  }

  const requesterOf = (userId: string, channel: string, teamId: string | undefined, displayName?: string, isModerator?: boolean): Requester => ({
    platform: 'slack',
    userId,
    channelId: channel,
    ...(teamId ? { serverId: teamId } : {}),
    ...(displayName ? { displayName } : {}),
    ...(isModerator !== undefined ? { isModerator } : {}),
  });

  const stopJob = (jobId: string, error: BotError): void => {
    const job = core.jobs.get(jobId);
    if (!job) return;
    job.stopReason = error;
    job.abort.abort();
  };

  const surfaceFor = (client: WebClient, channel: string, requester: Requester, threadTs?: string, respond?: EphemeralResponder): SlackJobSurface =>
    new SlackJobSurface(shared, {
      client,
      channel,
      requester,
      ...(threadTs ? { threadTs } : {}),
      ...(respond ? { respond } : {}),
      onSetupFailed: stopJob,
    });

  async function tellPrivately(client: WebClient, channel: string, user: string, text: string, threadTs?: string): Promise<void> {
    try {
      await client.chat.postEphemeral({ channel, user, text, ...(threadTs ? { thread_ts: threadTs } : {}) });
    } catch (err) {
      logger.warn(`slack: could not send an ephemeral message: ${text}`, err);
    }
  }

  // ---- /animate ------------------------------------------------------------------------------
  app.command(command, async (args: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    const { command: cmd, ack, respond, client } = args;
    // Ack first: Slack shows an error if it gets no answer within 3 seconds. The work happens after.
    await ack();
    if (!recent.firstTime(`cmd:${cmd.trigger_id}`)) return;
    const requester = requesterOf(cmd.user_id, cmd.channel_id, cmd.team_id, cmd.user_name);
    const respondPrivately: EphemeralResponder = async (text) => {
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    };
    background('/animate', async () => {
      const surface = surfaceFor(client, cmd.channel_id, requester, undefined, respondPrivately);
      const result = await core.animateText(surface, requester, cmd.text, { requestId: `slack:cmd:${cmd.trigger_id}` });
      if (result.kind === 'help') await respondPrivately(`\`\`\`${result.text}\`\`\``);
      else track(result);
    });
  });

  // ---- buttons -------------------------------------------------------------------------------
  app.action<BlockAction<ButtonAction>>(ACTION_PATTERN, async ({ ack, body, action, client }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button') return;
    const kind = KIND_BY_ACTION[action.action_id];
    const jobId = action.value ?? '';
    const channel = body.channel?.id ?? body.container?.channel_id ?? '';
    const threadTs: string | undefined = body.message?.thread_ts ?? body.container?.thread_ts;
    if (!kind || !recent.firstTime(`act:${body.trigger_id}`)) return;
    background(`button ${kind}`, async () => {
      const actor = requesterOf(body.user.id, channel, body.team?.id ?? undefined, body.user.name, await isAdmin(client, body.user.id));
      try {
        if (kind === 'refine') {
          const job = core.jobs.get(jobId, clock.now());
          if (!job) throw new UnknownJobError('The bot no longer remembers that clip (it may have restarted). Start a new /animate.');
          const metadata: RefineMetadata = { jobId, channel };
          await client.views.open({ trigger_id: body.trigger_id, view: refineModal(job.options.prompt, JSON.stringify(metadata)) });
          return;
        }
        const act: JobAction = kind === 'cancel' ? { kind: 'cancel' } : kind === 'reroll' ? { kind: 'reroll' } : { kind: 'variations' };
        track(await core.action(jobId, act, actor));
      } catch (err) {
        await tellPrivately(client, channel, body.user.id, errorText(toBotError(err)), threadTs);
      }
    });
  });

  // ---- Refine modal --------------------------------------------------------------------------
  app.view(REFINE_CALLBACK_ID, async ({ ack, view, body, client }) => {
    const prompt = view.state.values[REFINE_BLOCK_ID]?.[REFINE_INPUT_ID]?.value?.trim() ?? '';
    if (!prompt) {
      await ack({ response_action: 'errors', errors: { [REFINE_BLOCK_ID]: 'Describe what to animate.' } });
      return;
    }
    await ack();
    let meta: RefineMetadata;
    try {
      meta = JSON.parse(view.private_metadata) as RefineMetadata;
    } catch {
      logger.warn('slack: refine modal without metadata');
      return;
    }
    background('refine', async () => {
      const actor = requesterOf(body.user.id, meta.channel, body.team?.id, body.user.name);
      try {
        track(await core.action(meta.jobId, { kind: 'refine', prompt }, actor));
      } catch (err) {
        await tellPrivately(client, meta.channel, body.user.id, errorText(toBotError(err)));
      }
    });
  });

  // ---- @mentions: refinement in a clip's thread, Q&A elsewhere ------------------------------------
  app.event('app_mention', async ({ event, body, client, context }) => {
    // Slack retries an event it thinks was not acked (X-Slack-Retry-Num); the event id stays the same.
    const eventId = (body as { event_id?: string }).event_id ?? `${event.channel}:${event.ts}`;
    if (!recent.firstTime(`ev:${eventId}`)) {
      logger.debug?.(`slack: ignoring repeated event ${eventId} (retry ${context.retryNum ?? 0})`);
      return;
    }
    const userId = event.user ?? '';
    if (!userId) return;
    const botUserId = context.botUserId;
    const text = event.text.replace(botUserId ? new RegExp(`<@${botUserId}(\\|[^>]*)?>`, 'g') : /^\s*<@[^>]+>/, '').trim();
    const threadTs = event.thread_ts ?? event.ts;
    const requester = requesterOf(userId, event.channel, (body as { team_id?: string }).team_id);
    background('app_mention', async () => {
      if (/^(help|\?)$/i.test(text) || text === '') {
        await client.chat.postMessage({ channel: event.channel, thread_ts: threadTs, text: `\`\`\`${await core.help(command)}\`\`\`` });
        return;
      }
      const surface = surfaceFor(client, event.channel, requester, threadTs);
      if (event.thread_ts) {
        const refined = await core.followUp(slackThreadId(event.channel, event.thread_ts), text, requester, surface);
        if (refined) return track(refined);
      }
      track(await core.ask(surface, text, requester, { requestId: `slack:ev:${eventId}`, threadId: slackThreadId(event.channel, threadTs) }));
    });
  });

  return {
    adapter,
    async replyWithClip(request) {
      const client = request.client ?? app.client;
      const requester = requesterOf(request.userId, request.channel, request.teamId);
      const surface = surfaceFor(client, request.channel, requester, request.threadTs);
      const extra = {
        ...(request.requestId ? { requestId: request.requestId } : {}),
        ...(request.threadTs ? { threadId: slackThreadId(request.channel, request.threadTs) } : {}),
      };
      let result: AnimateResult;
      if (request.question !== undefined && request.prompt === undefined) result = await core.ask(surface, request.question, requester, extra);
      else result = await core.animate(surface, requester, { variants: 1, ...request.options, prompt: request.prompt ?? request.question ?? '' }, extra);
      track(result);
      return result.finished;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

