// What every Discord handler (the command, the buttons, mentions) needs from the plugin that mounted it: the client,
// the core, the settings, the surfaces, and the way an error is told to whoever pressed or typed.
import { MessageFlags, type Client, type RepliableInteraction } from 'discord.js';
import type { BotCore } from '../core/api.ts';
import type { Clock } from '../core/clock.ts';
import { toBotError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { failureText } from './format.ts';
import type { DiscordSurfaces } from './job-surfaces.ts';
import type { PluginSettings } from './plugin-settings.ts';

export interface DiscordPluginContext {
  readonly client: Client;
  readonly core: BotCore;
  readonly settings: PluginSettings;
  readonly surfaces: DiscordSurfaces;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Tells the person behind `interaction`, privately, what went wrong (a follow-up when already answered). */
export async function tellActor(ctx: DiscordPluginContext, interaction: RepliableInteraction, error: unknown): Promise<void> {
  const text = failureText(toBotError(error));
  try {
    if (interaction.deferred || interaction.replied) await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral });
    else await interaction.reply({ content: text, flags: MessageFlags.Ephemeral });
  } catch (again) {
    ctx.logger.warn(`could not tell ${interaction.user.id} about an error`, again);
  }
}

/** The help text as a Discord code block, within the 2000-character limit. */
export const helpBlock = (text: string): string => `\`\`\`\n${text.replace(/```/g, "'''")}\n\`\`\``;
