// The Discord front-end: a discord.js client logged in with the bot token, the animate plugin mounted on it.
// startDiscordBot is the whole standalone bot (also for code that embeds it); createDiscordFrontEnd wraps it in the
// FrontEnd interface that app/start.ts and main.ts run.
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import { createBotCore, type BotCore, type BotCoreOptions } from '../core/bot.ts';
import type { Clock } from '../core/clock.ts';
import type { FrontEnd, FrontEndDeps } from '../core/front-end.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { DiscordConfigError, parseDiscordConfig, type DiscordBotConfig } from './config.ts';
import { gatewayOverride } from './gateway.ts';
import { createAnimatePlugin, DEFAULT_UPLOAD_LIMIT_BYTES, type AnimatePlugin, type AnimatePluginOptions } from './plugin.ts';
import { registerCommands } from './register.ts';

const OFFICIAL_API = 'https://discord.com/api';
const OFFICIAL_GATEWAY = 'wss://gateway.discord.gg';

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

/** The Discord bot as a FrontEnd on a shared core (which it does not close). */
export function createDiscordFrontEnd(config: DiscordBotConfig, deps: FrontEndDeps): FrontEnd {
  let running: RunningDiscordBot | undefined;
  return {
    name: 'Discord',
    where: 'gateway',
    async start() {
      running = await startDiscordBot(config, { core: deps.core, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.clock ? { clock: deps.clock } : {}) });
    },
    async stop() {
      await running?.stop();
      running = undefined;
    },
  };
}
