// The /animate `image` option: the attachment Discord resolved for the interaction, fetched from Discord's CDN within
// the plugin's bounds (hosts, size, time) and handed to the core as AnimateOptions.image. Kept apart from the command
// handler so the bounds and their messages live in one place for every Discord entry point.
import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import { downloadImage, type ImageAttachment } from '../core/image-download.ts';
import { checkImageAttachment } from '../core/request.ts';
import { IMAGE_OPTION } from './commands.ts';
import type { PluginSettings } from './plugin-settings.ts';

/** Fetches one Discord attachment as an image; rejects with an InvalidOptionsError worded for the person. */
export async function fetchDiscordImage(attachment: Pick<Attachment, 'url' | 'size' | 'contentType' | 'name'>, settings: PluginSettings): Promise<ImageAttachment> {
  const image = await downloadImage(attachment.url, {
    allowedHosts: settings.imageHosts,
    allowHttp: settings.allowHttpImages,
    maxBytes: settings.maxImageBytes,
    timeoutMs: settings.imageTimeoutMs,
    declaredSize: attachment.size,
    declaredType: attachment.contentType ?? undefined,
    name: attachment.name,
  });
  // The daemon's own limits (sides from the header too), so the person hears now rather than from the daemon.
  checkImageAttachment(image);
  return image;
}

/** The command's attached image, fetched; undefined when the person attached none. */
export async function imageFromInteraction(interaction: ChatInputCommandInteraction, settings: PluginSettings): Promise<ImageAttachment | undefined> {
  const attachment = interaction.options.getAttachment(IMAGE_OPTION);
  return attachment ? fetchDiscordImage(attachment, settings) : undefined;
}
