// The Discord front-end's settings: taken from the shared AppConfig (shared/config reads the environment and .env,
// once, for every program), or given directly by code that embeds the bot; validated here either way, so a missing
// or malformed one stops the bot with a message naming the variable.
import { z } from 'zod';
import type { AppConfig } from '../../shared/config/index.ts';
import { CodedError } from '../../shared/errors.ts';

/** The Discord part of the configuration (shared/config's DiscordConfig has this shape). */
export interface DiscordBotConfig {
  token: string | undefined;
  applicationId?: string | undefined;
  guildId?: string | undefined;
  apiUrl?: string | undefined;
  gatewayUrl?: string | undefined;
  maxUploadBytes?: number | undefined;
  /**
   * Request the privileged Message Content intent (DISCORD_MESSAGE_CONTENT). Default false: Discord then sends the
   * text only of messages that mention the bot, which is all refinement and Q&A need (by @mention); a bot whose
   * portal toggle is off would otherwise fail to log in (close code 4014).
   */
  messageContent?: boolean | undefined;
}

/** A missing or malformed Discord setting: a CodedError (shared/errors.ts), code INVALID_DISCORD_SETTING. */
export class DiscordConfigError extends CodedError<'INVALID_DISCORD_SETTING'> {
  constructor(message: string) {
    super('INVALID_DISCORD_SETTING', message);
  }
}

const NO_TOKEN = 'DISCORD_TOKEN is not set: put the bot token (Developer Portal → Bot → Token) in the environment or .env';

const configSchema = z.object({
  token: z.string({ error: NO_TOKEN }).trim().min(1, { error: 'DISCORD_TOKEN is empty: put the bot token (Developer Portal → Bot → Token) in the environment or .env' }),
  applicationId: z.string().regex(/^\d{5,25}$/, { error: 'DISCORD_APPLICATION_ID must be a numeric id' }).optional(),
  guildId: z.string().regex(/^\d{5,25}$/, { error: 'DISCORD_GUILD_ID must be a numeric id' }).optional(),
  apiUrl: z.url({ error: 'DISCORD_API_URL must be a URL such as https://discord.com/api' }).optional(),
  gatewayUrl: z.url({ protocol: /^wss?$/, error: 'DISCORD_GATEWAY_URL must be a ws:// or wss:// URL' }).optional(),
  maxUploadBytes: z.number().int().min(1024, { error: 'DISCORD_MAX_UPLOAD_MB is too small' }).optional(),
  messageContent: z.boolean({ error: 'DISCORD_MESSAGE_CONTENT must be true or false' }).default(false),
});

export type DiscordSettings = z.output<typeof configSchema>;

/** Validates the Discord settings; throws DiscordConfigError naming the variable at fault. */
export function parseDiscordConfig(config: DiscordBotConfig): DiscordSettings {
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const result = configSchema.safeParse(defined);
  if (!result.success) throw new DiscordConfigError(result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

/** The Discord settings out of the shared configuration; throws DiscordConfigError when DISCORD_TOKEN is not set. */
export function discordConfigFrom(app: AppConfig): DiscordBotConfig {
  const { token, applicationId, guildId, apiUrl, gatewayUrl, maxUploadBytes, messageContent } = app.discord;
  if (!token) throw new DiscordConfigError(NO_TOKEN);
  return { token, applicationId, guildId, apiUrl, gatewayUrl, maxUploadBytes, messageContent };
}
