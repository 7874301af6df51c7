// The buttons under a Discord clip and the Refine modal: Cancel, Reroll and Variations go straight to the core's
// actions; Refine first opens a modal holding the clip's prompt, whose submission refines the clip. Refusals (not
// yours to cancel, already done, forgotten) are told privately to whoever pressed.
import { ActionRowBuilder, MessageFlags, ModalBuilder, TextInputBuilder, TextInputStyle, type ButtonInteraction, type ModalSubmitInteraction } from 'discord.js';
import { BotError, BotErrorCode } from '../core/errors.ts';
import { REFINE_PROMPT_FIELD, refineModalId, type ButtonAction } from './custom-ids.ts';
import { tellActor, type DiscordPluginContext } from './plugin-context.ts';
import { requesterFromInteraction } from './requester.ts';

/** The Refine modal, its prompt field holding the clip's prompt. */
export function refineModal(jobId: string, prompt: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(refineModalId(jobId))
    .setTitle('Refine the clip')
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder().setCustomId(REFINE_PROMPT_FIELD).setLabel('Prompt').setStyle(TextInputStyle.Paragraph).setValue(prompt.slice(0, 4000)).setRequired(true).setMaxLength(2000),
      ),
    );
}

export async function onButton(ctx: DiscordPluginContext, interaction: ButtonInteraction, action: ButtonAction, jobId: string): Promise<void> {
  if (action === 'refine') {
    const job = ctx.core.jobs.get(jobId, ctx.clock.now());
    if (!job) {
      await tellActor(ctx, interaction, new BotError(BotErrorCode.UnknownJob, 'The bot no longer remembers that clip (it may have restarted). Start a new /animate.'));
      return;
    }
    await interaction.showModal(refineModal(jobId, job.result?.prompt ?? job.options.prompt));
    return;
  }
  await interaction.deferUpdate();
  const actor = requesterFromInteraction(interaction);
  try {
    await ctx.core.action(jobId, { kind: action }, actor);
  } catch (error) {
    await tellActor(ctx, interaction, error);
  }
}

export async function onRefineModal(ctx: DiscordPluginContext, interaction: ModalSubmitInteraction, jobId: string): Promise<void> {
  if (interaction.isFromMessage()) await interaction.deferUpdate();
  else await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const prompt = interaction.fields.getTextInputValue(REFINE_PROMPT_FIELD);
  try {
    await ctx.core.action(jobId, { kind: 'refine', prompt }, requesterFromInteraction(interaction));
  } catch (error) {
    await tellActor(ctx, interaction, error);
  }
}
