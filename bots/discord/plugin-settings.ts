// The Discord plugin's own settings: their defaults (written once, here) and the checks that turn a bad value into
// a TypeError naming it, before anything is attached to the client.
import { z } from 'zod';
import { DEFAULT_IMAGE_MAX_BYTES, DEFAULT_IMAGE_TIMEOUT_MS } from '../core/image-download.ts';
import { DEFAULT_COMMAND_NAME } from './commands.ts';

/** Where Discord serves attachments (the URLs in an interaction's resolved attachments). */
export const DISCORD_IMAGE_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'] as const;

export const DEFAULT_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/**
 * One edit of a message per 1.2 s stays inside Discord's per-message edit budget (about 5 per 5 s), leaving room
 * for the final message; previews ride on these edits.
 */
export const DEFAULT_UPDATE_INTERVAL_MS = 1200;
export const DEFAULT_PREVIEW_MAX_SIDE = 256;

const pluginSettingsSchema = z.object({
  commandName: z.string().regex(/^[-_a-z0-9]{1,32}$/, { error: 'commandName must be 1–32 lower-case letters, digits, - or _' }).default(DEFAULT_COMMAND_NAME),
  updateIntervalMs: z.number().int().min(250, { error: 'updateIntervalMs must be at least 250 ms (Discord rate-limits faster edits)' }).default(DEFAULT_UPDATE_INTERVAL_MS),
  defaultUploadLimitBytes: z.number().int().min(1024, { error: 'defaultUploadLimitBytes must be at least 1024' }).default(DEFAULT_UPLOAD_LIMIT_BYTES),
  previewMaxSide: z.number().int().min(32).max(512, { error: 'previewMaxSide must be from 32 to 512' }).default(DEFAULT_PREVIEW_MAX_SIDE),
  previewFormat: z.enum(['webp', 'gif'], { error: 'previewFormat must be webp or gif' }).default('webp'),
  mentions: z.boolean().default(true),
  // Attached images (/animate image:): only Discord's CDN by default; an emulator adds its own host:port.
  imageHosts: z.array(z.string().min(1), { error: 'imageHosts must be a list of host names' }).default([...DISCORD_IMAGE_HOSTS]),
  allowHttpImages: z.boolean().default(false),
  maxImageBytes: z.number().int().min(1024, { error: 'maxImageBytes must be at least 1024' }).default(DEFAULT_IMAGE_MAX_BYTES),
  imageTimeoutMs: z.number().int().min(100, { error: 'imageTimeoutMs must be at least 100 ms' }).default(DEFAULT_IMAGE_TIMEOUT_MS),
});

/** The settings after defaults: every field set. */
export type PluginSettings = z.infer<typeof pluginSettingsSchema>;

/** Settings as a host passes them (any may be left out). */
export type PluginSettingsInput = { [K in keyof PluginSettings]?: PluginSettings[K] | undefined };

/** Throws a TypeError (`createAnimatePlugin: …`) listing every bad setting. */
export function parsePluginSettings(input: PluginSettingsInput): PluginSettings {
  const parsed = pluginSettingsSchema.safeParse({
    commandName: input.commandName,
    updateIntervalMs: input.updateIntervalMs,
    defaultUploadLimitBytes: input.defaultUploadLimitBytes,
    previewMaxSide: input.previewMaxSide,
    previewFormat: input.previewFormat,
    mentions: input.mentions,
    imageHosts: input.imageHosts,
    allowHttpImages: input.allowHttpImages,
    maxImageBytes: input.maxImageBytes,
    imageTimeoutMs: input.imageTimeoutMs,
  });
  if (!parsed.success) throw new TypeError(`createAnimatePlugin: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}
