// The Discord plugin's own settings: their defaults (written once, here) and the checks that turn a bad value into
// a TypeError naming it, before anything is attached to the client.
import { z } from 'zod';
import { DEFAULT_COMMAND_NAME } from './commands.ts';

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
  });
  if (!parsed.success) throw new TypeError(`createAnimatePlugin: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}
