// @mentions of the Slack app: in a clip's thread they refine that clip; "help" or an empty mention gets the help
// text; a mention that shares an image (its own file, or the latest image the person shared in the thread, when the
// thread has no clip yet) animates the mention's text from that image (image-to-video); anything else is a question
// answered with a clip (Q&A) in the mention's thread. Slack retries an event it thinks was not acked, with the same
// event id: a retry is ignored.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { JobSurface, Requester } from '../core/adapter.ts';
import type { AnimateExtra, AnimateResult } from '../core/api.ts';
import { InvalidOptionsError, toBotError } from '../core/errors.ts';
import { parseTextCommand } from '../core/options.ts';
import { refuse } from '../core/refusal.ts';
import { fetchSlackImage, firstImage, latestThreadImage, type SlackFile } from './image-files.ts';
import { slackRequester, surfaceFor, type SlackPluginContext } from './plugin-context.ts';
import { slackThreadId } from './surface.ts';

/** The mention's text without the bot's own mention(s). */
function withoutMention(text: string, botUserId: string | undefined): string {
  return text.replace(botUserId ? new RegExp(`<@${botUserId}(\\|[^>]*)?>`, 'g') : /^\s*<@[^>]+>/, '').trim();
}

/** The text as /animate options (`a ball bounces --seed 4`) animated from the shared image; refusals on the surface. */
async function animateFromImage(ctx: SlackPluginContext, surface: JobSurface, requester: Requester, text: string, file: SlackFile, botToken: string | undefined, extra: AnimateExtra): Promise<AnimateResult> {
  try {
    const parsed = parseTextCommand(text);
    if (parsed.kind === 'help') throw new InvalidOptionsError('Say what should happen in the clip with the image, e.g. "the ball bounces".', 'prompt');
    const image = await fetchSlackImage(file, botToken, ctx.images);
    return await ctx.core.animate(surface, requester, { ...parsed.options, image }, extra);
  } catch (err) {
    return refuse(surface, toBotError(err), ctx.logger);
  }
}

async function sharedImage(ctx: SlackPluginContext, client: WebClient, event: { channel: string; thread_ts?: string; files?: SlackFile[] }, userId: string): Promise<SlackFile | undefined> {
  return firstImage(event.files) ?? (event.thread_ts ? await latestThreadImage(client, event.channel, event.thread_ts, userId, ctx.logger) : undefined);
}

export function registerMentions(app: App, ctx: SlackPluginContext): void {
  app.event('app_mention', async ({ event, body, client, context }) => {
    // The request's arrival, for animate_bot_ack_seconds: before the image lookup and download, not when the core sees it.
    const receivedAt = ctx.core.clock.now();
    const eventId = (body as { event_id?: string }).event_id ?? `${event.channel}:${event.ts}`;
    if (!ctx.recent.firstTime(`ev:${eventId}`)) {
      ctx.logger.debug?.(`slack: ignoring repeated event ${eventId} (retry ${context.retryNum ?? 0})`);
      return;
    }
    const userId = event.user ?? '';
    if (!userId) return;
    const text = withoutMention(event.text, context.botUserId);
    const threadTs = event.thread_ts ?? event.ts;
    const requester = slackRequester(userId, event.channel, (body as { team_id?: string }).team_id);
    const ownImage = firstImage(event.files as SlackFile[] | undefined);
    ctx.work.run('app_mention', async () => {
      if ((/^(help|\?)$/i.test(text) || text === '') && !ownImage) {
        await client.chat.postMessage({ channel: event.channel, thread_ts: threadTs, text: `\`\`\`${await ctx.core.help(ctx.command)}\`\`\`` });
        return;
      }
      const surface = surfaceFor(ctx, client, event.channel, requester, threadTs);
      // A mention in a clip's thread refines that clip, unless it brings an image of its own (a new start).
      if (event.thread_ts && !ownImage) {
        const refined = await ctx.core.followUp(slackThreadId(event.channel, event.thread_ts), text, requester, surface);
        if (refined) return ctx.work.track(refined);
      }
      const extra = { requestId: `slack:ev:${eventId}`, threadId: slackThreadId(event.channel, threadTs), receivedAt };
      const image = ownImage ?? (await sharedImage(ctx, client, { channel: event.channel, ...(event.thread_ts ? { thread_ts: event.thread_ts } : {}) }, userId));
      if (image) return ctx.work.track(await animateFromImage(ctx, surface, requester, text, image, context.botToken, extra));
      ctx.work.track(await ctx.core.ask(surface, text, requester, extra));
    });
  });
}
