// The Discord front-end: a discord.js client logged in with the bot token, the animate plugin mounted on it.
// startDiscordBot is the whole standalone bot (also for code that embeds it); createDiscordFrontEnd wraps it in the
// FrontEnd interface that app/start.ts and main.ts run.
import { Client, Events, Partials } from 'discord.js';
import { createBotCore, type BotCore, type BotCoreOptions } from '../core/bot.ts';
import type { Clock } from '../core/clock.ts';
import type { FrontEnd, FrontEndDeps } from '../core/front-end.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { CodedError } from '../../shared/errors.ts';
import { DiscordConfigError, parseDiscordConfig, type DiscordBotConfig } from './config.ts';
import { gatewayOverride } from './gateway.ts';
import { disallowedIntentsError, gatewayIntents, isDisallowedIntents } from './intents.ts';
import { createAnimatePlugin, DEFAULT_UPLOAD_LIMIT_BYTES, type AnimatePlugin, type AnimatePluginOptions } from './plugin.ts';
import { registerCommands } from './register.ts';

const OFFICIAL_API = 'https://discord.com/api';
const OFFICIAL_GATEWAY = 'wss://gateway.discord.gg';

/**
 * How long startDiscordBot waits for the gateway's READY after login. discord.js keeps reconnecting on its own, so a
 * gateway that never says READY (wrong DISCORD_GATEWAY_URL, a proxy that eats the socket) would hang start() forever.
 */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** The gateway did not say READY in time after login: a CodedError (shared/errors.ts). */
export class DiscordNotReadyError extends CodedError<'DISCORD_NOT_READY'> {
  constructor(message: string) {
    super('DISCORD_NOT_READY', message);
  }
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
  /** How long to wait for the gateway's READY after login. Default DEFAULT_READY_TIMEOUT_MS. */
  readyTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface RunningDiscordBot {
  client: Client;
  plugin: AnimatePlugin;
  core: BotCore;
  stop(): Promise<void>;
}

/**
 * How long stop() waits for discord.js to close the gateway. @discordjs/ws 1.2 never settles a destroy() made while a
 * shard waits for HELLO or READY (the aborted wait starts a reconnect of its own that takes the close over), so a
 * start that timed out would otherwise hang in its own cleanup instead of reporting why.
 */
const DESTROY_WAIT_MS = 5000;

async function destroyClient(client: Client, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), DESTROY_WAIT_MS);
    timer.unref();
  });
  try {
    if ((await Promise.race([client.destroy(), gaveUp])) === 'timeout')
      logger.warn(`discord: the gateway connection did not close within ${DESTROY_WAIT_MS / 1000} s (discord.js may still be reconnecting)`);
  } finally {
    clearTimeout(timer);
  }
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
    intents: gatewayIntents(settings.messageContent),
    partials: [Partials.Channel],
    ...(apiUrl ? { rest: { api: apiUrl } } : {}),
    ...(gatewayUrl ? { ws: { buildStrategy: gatewayOverride(gatewayUrl) } } : {}),
  });
  let plugin: AnimatePlugin;
  try {
    plugin = createAnimatePlugin({
      client,
      core,
      logger,
      defaultUploadLimitBytes: settings.maxUploadBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...deps.plugin,
    }).attach();
  } catch (error) {
    if (ownsCore) await core.close();
    throw error;
  }
  // discord.js's warnings, errors, debug lines (at debug level) and 429s go to the bots' logger and metrics: the
  // plugin's attach() forwards them (client-events.ts), as it does for a host bot's client.
  // The gateway's last close code: a 4014 (disallowed intents) is turned into one clear start-up error below.
  let lastCloseCode: number | undefined;
  client.on(Events.ShardDisconnect, (event) => (lastCloseCode = event.code));

  const botCore = core;
  // Undoes everything above; also what a start that fails at any later step (READY, registering commands) runs, so
  // a failed start leaves no client logged in, no plugin attached and no core of its own open.
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      plugin.detach();
      try {
        if (ownsCore) await botCore.close();
      } finally {
        await destroyClient(client, logger);
      }
    })());

  const readyTimeoutMs = deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  let readyTimer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  // Login and READY together race the timeout (login itself can wait on the gateway); the loser's rejection is ignored.
  const connected = client.login(settings.token).then(() => ready);
  connected.catch(() => undefined);
  const timedOut = new Promise<never>((_, reject) => {
    readyTimer = setTimeout(
      () => reject(new DiscordNotReadyError(`The Discord gateway did not say READY within ${Math.round(readyTimeoutMs / 1000)} s of logging in: check DISCORD_GATEWAY_URL and the network.`)),
      readyTimeoutMs,
    );
    readyTimer.unref();
  });
  try {
    await Promise.race([connected, timedOut]);
    logger.info(`discord: logged in as ${client.user?.tag ?? '?'}; /${plugin.commandName} is live`);
    if (deps.registerCommands) {
      const applicationId = settings.applicationId ?? client.application?.id;
      if (!applicationId) throw new DiscordConfigError('DISCORD_APPLICATION_ID is needed to register commands');
      const result = await registerCommands({ token: settings.token, applicationId, guildId: settings.guildId, apiUrl, commandName: plugin.commandName });
      logger.info(`discord: registered ${result.commands.map((c) => `/${c.name}`).join(', ')} (${result.scope})`);
    }
  } catch (error) {
    await stop().catch((again: unknown) => logger.error('discord: cleaning up after a failed start failed too', again));
    throw isDisallowedIntents(error, lastCloseCode) ? disallowedIntentsError(settings.messageContent, error) : error;
  } finally {
    clearTimeout(readyTimer);
  }
  return { client, plugin, core: botCore, stop };
}

/** The Discord bot as a FrontEnd on a shared core (which it does not close). */
export function createDiscordFrontEnd(config: DiscordBotConfig, deps: FrontEndDeps): FrontEnd {
  // The start under way or done (undefined when it failed: startDiscordBot cleaned up). stop() waits for a start still
  // under way, so a stop during login still ends the bot, and after a failed start it has nothing left to do.
  let running: Promise<RunningDiscordBot | undefined> | undefined;
  return {
    name: 'Discord',
    where: 'gateway',
    async start() {
      const starting = startDiscordBot(config, { core: deps.core, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.clock ? { clock: deps.clock } : {}) });
      running = starting.catch(() => undefined);
      await starting;
    },
    async stop() {
      const bot = await running;
      running = undefined;
      await bot?.stop();
    },
  };
}
