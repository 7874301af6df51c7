// The Slack slash command (/animate by default): ack at once, then the text syntax goes to the core in the
// background; help and refusals are answered privately to the person who typed it.
import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { slackRequester, surfaceFor, type SlackPluginContext } from './plugin-context.ts';
import type { EphemeralResponder } from './surface.ts';

export function registerCommand(app: App, ctx: SlackPluginContext): void {
  app.command(ctx.command, async (args: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    const { command: cmd, ack, respond, client } = args;
    // The request's arrival, for animate_bot_ack_seconds: before the ack and the background hand-off, not when the core sees it.
    const receivedAt = ctx.core.clock.now();
    // Ack first: Slack shows an error if it gets no answer within 3 seconds. The work happens after.
    await ack();
    if (!ctx.recent.firstTime(`cmd:${cmd.trigger_id}`)) return;
    const requester = slackRequester(cmd.user_id, cmd.channel_id, cmd.team_id, cmd.user_name);
    const respondPrivately: EphemeralResponder = async (text) => {
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    };
    ctx.work.run('/animate', async () => {
      const surface = surfaceFor(ctx, client, cmd.channel_id, requester, undefined, respondPrivately);
      const result = await ctx.core.animateText(surface, requester, cmd.text, { requestId: `slack:cmd:${cmd.trigger_id}`, receivedAt });
      if (result.kind === 'help') await respondPrivately(`\`\`\`${result.text}\`\`\``);
      else ctx.work.track(result);
    });
  });
}
