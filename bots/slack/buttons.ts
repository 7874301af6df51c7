// The buttons under a Slack clip and the Refine modal: Cancel (its author, a configured admin or a workspace admin),
// Reroll and Variations go to the core's actions; Refine opens a modal with the clip's prompt, whose submission
// refines the clip. Refusals are told privately to whoever pressed.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { JobAction } from '../core/api.ts';
import { UnknownJobError, toBotError } from '../core/errors.ts';
import { ACTION_IDS, errorText, REFINE_BLOCK_ID, REFINE_CALLBACK_ID, REFINE_INPUT_ID, refineModal, type ButtonKind } from './format.ts';
import { slackRequester, tellPrivately, type SlackPluginContext } from './plugin-context.ts';

const ACTION_PATTERN = new RegExp(`^(${Object.values(ACTION_IDS).join('|')})$`);
const KIND_BY_ACTION = Object.fromEntries(Object.entries(ACTION_IDS).map(([kind, id]) => [id, kind])) as Record<string, ButtonKind>;
const ACTION_BY_KIND: Readonly<Record<Exclude<ButtonKind, 'refine'>, JobAction>> = { cancel: { kind: 'cancel' }, reroll: { kind: 'reroll' }, variations: { kind: 'variations' }, extend: { kind: 'extend' } };

/** What the Refine modal carries from the button to its submission. */
interface RefineMetadata {
  jobId: string;
  channel: string;
}

export function registerButtons(app: App, ctx: SlackPluginContext): void {
  app.action<BlockAction<ButtonAction>>(ACTION_PATTERN, async ({ ack, body, action, client }) => {
    await ack();
    if (body.type !== 'block_actions' || action.type !== 'button') return;
    const kind = KIND_BY_ACTION[action.action_id];
    const jobId = action.value ?? '';
    const channel = body.channel?.id ?? body.container?.channel_id ?? '';
    const threadTs: string | undefined = body.message?.thread_ts ?? body.container?.thread_ts;
    if (!kind || !ctx.recent.firstTime(`act:${body.trigger_id}`)) return;
    ctx.work.run(`button ${kind}`, async () => {
      const actor = slackRequester(body.user.id, channel, body.team?.id ?? undefined, body.user.name, await ctx.admins.isAdmin(client, body.user.id));
      try {
        if (kind === 'refine') {
          const job = ctx.core.jobs.get(jobId, ctx.clock.now());
          if (!job) throw new UnknownJobError('The bot no longer remembers that clip (it may have restarted). Start a new /animate.');
          const metadata: RefineMetadata = { jobId, channel };
          await client.views.open({ trigger_id: body.trigger_id, view: refineModal(job.options.prompt, JSON.stringify(metadata)) });
          return;
        }
        ctx.work.track(await ctx.core.action(jobId, ACTION_BY_KIND[kind], actor));
      } catch (err) {
        await tellPrivately(ctx, client, channel, body.user.id, errorText(toBotError(err)), threadTs);
      }
    });
  });
}

export function registerRefineModal(app: App, ctx: SlackPluginContext): void {
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
      ctx.logger.warn('slack: refine modal without metadata');
      return;
    }
    ctx.work.run('refine', async () => {
      const actor = slackRequester(body.user.id, meta.channel, body.team?.id, body.user.name);
      try {
        ctx.work.track(await ctx.core.action(meta.jobId, { kind: 'refine', prompt }, actor));
      } catch (err) {
        await tellPrivately(ctx, client, meta.channel, body.user.id, errorText(toBotError(err)));
      }
    });
  });
}
