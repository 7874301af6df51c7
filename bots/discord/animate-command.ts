// The /animate slash command: help, or the structured options checked and the job started on a surface that edits
// the command's reply. What only the person who typed the command needs to see (the help text, options the model
// does not take, a channel where the bot cannot attach files) is answered privately (ephemeral, as discord.js's
// guide says): it is checked before the public deferral, since a deferred reply cannot become ephemeral later. That
// check waits for the model list at most COMMAND_MODELS_BUDGET_MS, inside Discord's 3 s; a daemon slower than that
// leaves the options to the daemon, whose refusal then ends the public reply. The core's content filter is checked
// there too (its refusal names the blocked term); the daemon's own prompt refusal (PROMPT_REFUSED) can only come after
// the deferral, and the surface then swaps the public reply for a private one (surface.ts fail). An attached image
// (the `image` option) is fetched from Discord's CDN (image-option.ts) after the deferral, and the clip starts from it.
import { MessageFlags, PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';
import { PlatformError, toBotError } from '../core/errors.ts';
import { findModel } from '../core/model-catalog.ts';
import { checkAgainstModel, parseStructuredOptions, type AnimateOptions } from '../core/options.ts';
import { readAnimateOptions } from './commands.ts';
import { failureText, truncate } from './format.ts';
import { imageFromInteraction } from './image-option.ts';
import { COMMAND_MODELS_BUDGET_MS, modelsWithin } from './model-lookup.ts';
import { helpBlock, type DiscordPluginContext } from './plugin-context.ts';
import { requesterFromInteraction } from './requester.ts';

/**
 * The options in shape, past the core's content filter, and, when the model list comes in time, within the model's
 * limits. Throws InvalidOptionsError or ContentRefusedError (the refusal names the blocked term, so it must be private).
 */
async function checkedOptions(ctx: DiscordPluginContext, record: Record<string, unknown>): Promise<AnimateOptions> {
  const options = parseStructuredOptions(record);
  ctx.core.checkContent(options);
  const list = await modelsWithin(ctx, COMMAND_MODELS_BUDGET_MS);
  const model = list ? findModel(list, options.model) : undefined;
  if (model) checkAgainstModel(options, model);
  return options;
}

/** A refusal only the person sees. */
async function refusePrivately(interaction: ChatInputCommandInteraction, error: unknown): Promise<void> {
  await interaction.reply({ content: truncate(failureText(toBotError(error)), 2000), flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

export async function onAnimateCommand(ctx: DiscordPluginContext, interaction: ChatInputCommandInteraction): Promise<void> {
  const receivedAt = ctx.clock.now();
  const record = readAnimateOptions(interaction);
  const prompt = typeof record['prompt'] === 'string' ? record['prompt'] : '';
  if (/^\s*(help|\?)\s*$/i.test(prompt)) {
    // Deferred first: the help text waits for ListModels, which may take longer than Discord's 3 s.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    // The model named in the command, if any: its ranges and styles.
    const named = typeof record['model'] === 'string' && record['model'].trim() ? record['model'].trim() : undefined;
    const text = await ctx.core.help(`/${ctx.settings.commandName}`, named);
    await interaction.editReply({ content: truncate(helpBlock(text), 2000) });
    return;
  }
  let animateOptions: AnimateOptions;
  try {
    animateOptions = await checkedOptions(ctx, record);
  } catch (error) {
    await refusePrivately(interaction, error);
    return;
  }
  const perms = interaction.appPermissions;
  if (perms && !perms.has(PermissionFlagsBits.AttachFiles)) {
    await refusePrivately(interaction, new PlatformError('I need the **Attach Files** permission in this channel to post previews and clips. Ask a server admin to grant it, then try again.', 'missing_attach_files'));
    return;
  }
  await interaction.deferReply();
  const surface = await ctx.surfaces.forInteraction(interaction, prompt, receivedAt, 'original');
  const requester = requesterFromInteraction(interaction);
  // Last, once everything else is known good: a typo or a missing permission is not answered only after a download.
  try {
    const image = await imageFromInteraction(interaction, ctx.settings);
    if (image) animateOptions = { ...animateOptions, image };
  } catch (error) {
    await surface.fail(toBotError(error));
    return;
  }
  // Stamped when the interaction arrived, so animate_bot_ack_seconds includes the ListModels wait, the deferral and the download.
  await ctx.core.animate(surface, requester, animateOptions, { requestId: `discord-${interaction.id}`, receivedAt });
}
