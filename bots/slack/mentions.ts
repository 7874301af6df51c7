// @mentions of the Slack app: in a clip's thread they refine that clip; "help" or an empty mention gets the help
// text; anything else is a question answered with a clip (Q&A) in the mention's thread. Slack retries an event it
// thinks was not acked, with the same event id: a retry is ignored.
import type { App } from '@slack/bolt';
import { slackRequester, surfaceFor, type SlackPluginContext } from './plugin-context.ts';
import { slackThreadId } from './surface.ts';

/** The mention's text without the bot's own mention(s). */
function withoutMention(text: string, botUserId: string | undefined): string {
  return text.replace(botUserId ? new RegExp(`<@${botUserId}(\\|[^>]*)?>`, 'g') : /^\s*<@[^>]+>/, '').trim();
}

export function registerMentions(app: App, ctx: SlackPluginContext): void {
  app.event('app_mention', async ({ event, body, client, context }) => {
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
    ctx.work.run('app_mention', async () => {
      if (/^(help|\?)$/i.test(text) || text === '') {
        await client.chat.postMessage({ channel: event.channel, thread_ts: threadTs, text: `\`\`\`${await ctx.core.help(ctx.command)}\`\`\`` });
        return;
      }
      const surface = surfaceFor(ctx, client, event.channel, requester, threadTs);
      if (event.thread_ts) {
        const refined = await ctx.core.followUp(slackThreadId(event.channel, event.thread_ts), text, requester, surface);
        if (refined) return ctx.work.track(refined);
      }
      ctx.work.track(await ctx.core.ask(surface, text, requester, { requestId: `slack:ev:${eventId}`, threadId: slackThreadId(event.channel, threadTs) }));
    });
  });
}
