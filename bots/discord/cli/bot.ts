// `npm run bot:discord`: the Discord bot on its own. Settings come from the environment or .env (shared/config):
// DISCORD_TOKEN, DISCORD_APPLICATION_ID, DISCORD_GUILD_ID, DISCORD_API_URL, DISCORD_GATEWAY_URL,
// DISCORD_MAX_UPLOAD_MB, and the daemon's ANIMATE_DAEMON_ADDRESS / ANIMATE_LISTEN / ANIMATE_TOKEN.
import { ConfigError, loadConfig } from '../../../shared/config/index.ts';
import { consoleLogger } from '../../core/logger.ts';
import { DiscordConfigError, startDiscordBot } from '../index.ts';

const logger = consoleLogger('[discord]');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Cannot start the Discord bot: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (!config.discord.token) {
    console.error('Cannot start the Discord bot: DISCORD_TOKEN is not set. Put the bot token (Developer Portal → Bot → Token) in the environment or .env.');
    process.exit(2);
  }
  const address = config.daemon.remoteAddress ?? config.daemon.listen;
  const bot = await startDiscordBot(config.discord, { daemon: { address, token: config.daemon.token, tls: config.daemon.clientTls }, logger });
  const shutdown = async (signal: string): Promise<void> => {
    logger.info(`discord: ${signal}, stopping`);
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  const message = error instanceof DiscordConfigError || error instanceof Error ? error.message : String(error);
  console.error(`The Discord bot stopped: ${message}`);
  process.exit(1);
});
