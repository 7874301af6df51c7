// The Discord front-end: a discord.js plugin (createAnimatePlugin) and a standalone bot (startDiscordBot), on the
// shared bot core.
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import { z } from 'zod';
import { createBotCore, type BotCore, type BotCoreOptions } from '../core/bot.ts';
import type { Clock } from '../core/clock.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { gatewayOverride } from './gateway.ts';
import { createAnimatePlugin, DEFAULT_UPLOAD_LIMIT_BYTES, type AnimatePlugin, type AnimatePluginOptions } from './plugin.ts';
import { registerCommands } from './register.ts';

export { createAnimatePlugin, DEFAULT_UPLOAD_LIMIT_BYTES, DEFAULT_UPDATE_INTERVAL_MS } from './plugin.ts';
export type { AnimatePlugin, AnimatePluginOptions, ReplyWithClipOptions } from './plugin.ts';
export { registerCommands, type RegisterCommandsOptions } from './register.ts';
export { animateCommand, DEFAULT_COMMAND_NAME } from './commands.ts';
export { gatewayOverride } from './gateway.ts';
export { DiscordJobSurface } from './surface.ts';
export { fitClip, type ClipLinker } from './fit-clip.ts';

/** The Discord part of the configuration (shared/config's DiscordConfig has this shape). */
export interface DiscordBotConfig {
  token: string | undefined;
  applicationId?: string | undefined;
  guildId?: string | undefined;
  apiUrl?: string | undefined;
  gatewayUrl?: string | undefined;
  maxUploadBytes?: number | undefined;
}

export class DiscordConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscordConfigError';
  }
}

const configSchema = z.object({
  token: z.string({ error: 'DISCORD_TOKEN is not set: put the bot token (Developer Portal → Bot → Token) in the environment or .env' }).trim().min(1, { error: 'DISCORD_TOKEN is empty: put the bot token (Developer Portal → Bot → Token) in the environment or .env' }),
  applicationId: z.string().regex(/^\d{5,25}$/, { error: 'DISCORD_APPLICATION_ID must be a numeric id' }).optional(),
  guildId: z.string().regex(/^\d{5,25}$/, { error: 'DISCORD_GUILD_ID must be a numeric id' }).optional(),
  apiUrl: z.url({ error: 'DISCORD_API_URL must be a URL such as https://discord.com/api' }).optional(),
  gatewayUrl: z.url({ protocol: /^wss?$/, error: 'DISCORD_GATEWAY_URL must be a ws:// or wss:// URL' }).optional(),
  maxUploadBytes: z.number().int().min(1024, { error: 'DISCORD_MAX_UPLOAD_MB is too small' }).optional(),
});

const OFFICIAL_API = 'https://discord.com/api';
const OFFICIAL_GATEWAY = 'wss://gateway.discord.gg';

/** Validates the Discord settings; throws DiscordConfigError naming the variable at fault. */
export function parseDiscordConfig(config: DiscordBotConfig): z.output<typeof configSchema> {
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const result = configSchema.safeParse(defined);
  if (!result.success) throw new DiscordConfigError(result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

export interface DiscordBotDeps {
  /** A core to share (e.g. with Slack in `npm start`); otherwise one is made from `daemon`. */
  core?: BotCore;
  daemon?: { address: string; token?: string | undefined; tls?: BotCoreOptions['tls'] };
  coreOptions?: Omit<BotCoreOptions, 'connection' | 'daemonAddress' | 'token' | 'tls'>;
  /** Extra plugin options (update interval, preview size, linker…). */
  plugin?: Omit<AnimatePluginOptions, 'client' | 'core' | 'daemon' | 'clock' | 'logger'>;
  /** Register /animate on startup (in DISCORD_GUILD_ID, else globally). Default false: use `npm run discord:register`. */
  registerCommands?: boolean;
  clock?: Clock;
  logger?: Logger;
}

export interface RunningDiscordBot {
  client: Client;
  plugin: AnimatePlugin;
  core: BotCore;
  stop(): Promise<void>;
}

/** Starts the standalone bot: logs in, waits for READY, mounts the plugin. */
export async function startDiscordBot(config: DiscordBotConfig, deps: DiscordBotDeps = {}): Promise<RunningDiscordBot> {
  const settings = parseDiscordConfig(config);
  const logger = deps.logger ?? consoleLogger('[discord]');
  let core = deps.core;
  const ownsCore = !core;
  if (!core) {
    if (!deps.daemon) throw new DiscordConfigError('startDiscordBot needs a bot core or a daemon address');
    core = createBotCore({ daemonAddress: deps.daemon.address, token: deps.daemon.token, tls: deps.daemon.tls, logger, ...(deps.clock ? { clock: deps.clock } : {}), ...deps.coreOptions });
  }
  const apiUrl = settings.apiUrl && settings.apiUrl !== OFFICIAL_API ? settings.apiUrl : undefined;
  const gatewayUrl = settings.gatewayUrl && settings.gatewayUrl !== OFFICIAL_GATEWAY ? settings.gatewayUrl : undefined;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Channel],
    ...(apiUrl ? { rest: { api: apiUrl } } : {}),
    ...(gatewayUrl ? { ws: { buildStrategy: gatewayOverride(gatewayUrl) } } : {}),
  });
  const plugin = createAnimatePlugin({
    client,
    core,
    logger,
    defaultUploadLimitBytes: settings.maxUploadBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...deps.plugin,
  }).attach();
  client.on(Events.Error, (error) => logger.error('discord: client error', error));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(settings.token);
    await ready;
  } catch (error) {
    plugin.detach();
    await client.destroy();
    if (ownsCore) await core.close();
    throw error;
  }
  logger.info(`discord: logged in as ${client.user?.tag ?? '?'}; /${plugin.commandName} is live`);
  if (deps.registerCommands) {
    const applicationId = settings.applicationId ?? client.application?.id;
    if (!applicationId) throw new DiscordConfigError('DISCORD_APPLICATION_ID is needed to register commands');
    const result = await registerCommands({ token: settings.token, applicationId, guildId: settings.guildId, apiUrl, commandName: plugin.commandName });
    logger.info(`discord: registered ${result.commands.map((c) => `/${c.name}`).join(', ')} (${result.scope})`);
  }
  const botCore = core;
  return {
    client,
    plugin,
    core: botCore,
    async stop() {
      plugin.detach();
      if (ownsCore) await botCore.close();
      await client.destroy();
    },
  };
}
