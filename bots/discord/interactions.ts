// Routes a Discord interaction to its handler when it is ours (our command name, for the command and its
// autocomplete; an `animate:` custom id) and leaves every other one to the host bot. A handler that throws is logged and told to the person, never lost.
import type { Interaction } from 'discord.js';
import { onAnimateCommand } from './animate-command.ts';
import { onAutocomplete } from './autocomplete.ts';
import { onButton, onRefineModal } from './buttons.ts';
import { parseCustomId } from './custom-ids.ts';
import { tellActor, type DiscordPluginContext } from './plugin-context.ts';

/** Resolves true when the interaction was ours (and has been answered). */
export async function handleInteraction(ctx: DiscordPluginContext, interaction: Interaction): Promise<boolean> {
  try {
    if (interaction.isChatInputCommand()) {
      if (interaction.commandName !== ctx.settings.commandName) return false;
      await onAnimateCommand(ctx, interaction);
      return true;
    }
    if (interaction.isButton()) {
      const id = parseCustomId(interaction.customId);
      if (id?.kind !== 'button') return false;
      await onButton(ctx, interaction, id.action, id.jobId);
      return true;
    }
    if (interaction.isModalSubmit()) {
      const id = parseCustomId(interaction.customId);
      if (id?.kind !== 'refine-modal') return false;
      await onRefineModal(ctx, interaction, id.jobId);
      return true;
    }
    if (interaction.isAutocomplete()) {
      if (interaction.commandName !== ctx.settings.commandName) return false;
      await onAutocomplete(ctx, interaction);
      return true;
    }
  } catch (error) {
    ctx.logger.error(`discord: handling interaction ${interaction.id} failed`, error);
    if (interaction.isRepliable()) await tellActor(ctx, interaction, error);
    else if (interaction.isAutocomplete() && !interaction.responded) await interaction.respond([]).catch(() => undefined);
    return true;
  }
  return false;
}
