// What every Slack handler (the command, the buttons and modal, mentions) needs from the plugin that registered it:
// the core, the dedupe memory, the background work, the admin check, and how to build a job's surface, a requester
// and a private message.
import type { WebClient } from '@slack/web-api';
import type { Requester } from '../core/adapter.ts';
import type { BotCore } from '../core/api.ts';
import type { Clock } from '../core/clock.ts';
import type { BotError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { SlackAdmins } from './admins.ts';
import type { BackgroundWork } from './background-work.ts';
import type { RecentKeys } from './dedupe.ts';
import type { SlackImageSettings } from './image-files.ts';
import { SlackJobSurface, type EphemeralResponder, type SlackSurfaceShared } from './surface.ts';

export interface SlackPluginContext {
  readonly core: BotCore;
  /** The slash command, e.g. '/animate'. */
  readonly command: string;
  readonly shared: SlackSurfaceShared;
  /** Retried event ids and trigger ids seen lately: a retry never starts a second job. */
  readonly recent: RecentKeys;
  readonly work: BackgroundWork;
  readonly admins: SlackAdmins;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bounds and hosts of shared images (image-files.ts). */
  readonly images: SlackImageSettings;
}

export const slackRequester = (userId: string, channel: string, teamId: string | undefined, displayName?: string, isModerator?: boolean): Requester => ({
  platform: 'slack',
  userId,
  channelId: channel,
  ...(teamId ? { serverId: teamId } : {}),
  ...(displayName ? { displayName } : {}),
  ...(isModerator !== undefined ? { isModerator } : {}),
});

/** A job whose surface could not be set up (e.g. its parent message failed): stopped with the surface's error. */
function stopJob(ctx: SlackPluginContext, jobId: string, error: BotError): void {
  const job = ctx.core.jobs.get(jobId);
  if (!job) return;
  job.stopReason = error;
  job.abort.abort();
}

export function surfaceFor(ctx: SlackPluginContext, client: WebClient, channel: string, requester: Requester, threadTs?: string, respond?: EphemeralResponder): SlackJobSurface {
  return new SlackJobSurface(ctx.shared, {
    client,
    channel,
    requester,
    ...(threadTs ? { threadTs } : {}),
    ...(respond ? { respond } : {}),
    onSetupFailed: (jobId, error) => stopJob(ctx, jobId, error),
  });
}

/** An ephemeral message to one person; a failure is logged (there is nowhere else to say it). */
export async function tellPrivately(ctx: SlackPluginContext, client: WebClient, channel: string, user: string, text: string, threadTs?: string): Promise<void> {
  try {
    await client.chat.postEphemeral({ channel, user, text, ...(threadTs ? { thread_ts: threadTs } : {}) });
  } catch (err) {
    ctx.logger.warn(`slack: could not send an ephemeral message: ${text}`, err);
  }
}
