// The /animate slash command: defer within Discord's 3 s, then help, or the structured options checked and the job
// started on a surface that edits the command's reply. A channel where the bot cannot attach files is refused up
// front, since every preview and the clip are attachments. An attached image (the `image` option) is fetched from
// Discord's CDN (image-option.ts) and the clip starts from it.
import { PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';
import { PlatformError, toBotError } from '../core/errors.ts';
import { parseStructuredOptions } from '../core/options.ts';
import { readAnimateOptions } from './commands.ts';
import { imageFromInteraction } from './image-option.ts';
import { truncate } from './format.ts';
import { helpBlock, type DiscordPluginContext } from './plugin-context.ts';
import { requesterFromInteraction } from './requester.ts';

export async function onAnimateCommand(ctx: DiscordPluginContext, interaction: ChatInputCommandInteraction): Promise<void> {
  const receivedAt = ctx.clock.now();
  // Discord wants an answer within 3 s: defer before any other work.
  await interaction.deferReply();
  const record = readAnimateOptions(interaction);
  const prompt = typeof record['prompt'] === 'string' ? record['prompt'] : '';
  if (/^\s*(help|\?)\s*$/i.test(prompt)) {
    const text = await ctx.core.help(`/${ctx.settings.commandName}`);
    await interaction.editReply({ content: truncate(helpBlock(text), 2000) });
    return;
  }
  const surface = await ctx.surfaces.forInteraction(interaction, prompt, receivedAt, 'original');
  const requester = requesterFromInteraction(interaction);
  let animateOptions;
  try {
    animateOptions = parseStructuredOptions(record);
  } catch (error) {
    await surface.fail(toBotError(error));
    return;
  }
  const perms = interaction.appPermissions;
  if (perms && !perms.has(PermissionFlagsBits.AttachFiles)) {
    await surface.fail(new PlatformError('I need the **Attach Files** permission in this channel to post previews and clips. Ask a server admin to grant it, then try again.', 'missing_attach_files'));
    return;
  }
  // Last, once everything else is known good: a typo or a missing permission is not answered only after a download.
  try {
    const image = await imageFromInteraction(interaction, ctx.settings);
    if (image) animateOptions = { ...animateOptions, image };
  } catch (error) {
    await surface.fail(toBotError(error));
    return;
  }
  await ctx.core.animate(surface, requester, animateOptions, { requestId: `discord-${interaction.id}` });
}
