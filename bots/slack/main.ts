// `npm run bot:slack`: the Slack front-end on its own. Settings come from the environment or .env:
// SLACK_BOT_TOKEN, SLACK_MODE (socket|http), SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, SLACK_PORT, SLACK_API_URL,
// plus ANIMATE_DAEMON_ADDRESS (host:port of a running inference daemon, default 127.0.0.1:50051) and ANIMATE_TOKEN.
// (`npm start` runs the daemon and every front-end together and passes them one shared bot core.)
import 'dotenv/config';
import { consoleLogger } from '../core/logger.ts';
import { loadSlackConfig, SlackConfigError, startSlackBot } from './index.ts';

const logger = consoleLogger('[slack]');

async function main(): Promise<void> {
  let config;
  try {
    config = loadSlackConfig(process.env);
  } catch (err) {
    if (err instanceof SlackConfigError) {
      console.error(`Cannot start the Slack bot: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const bot = await startSlackBot(config, {
    daemon: { address: process.env.ANIMATE_DAEMON_ADDRESS?.trim() || '127.0.0.1:50051', token: process.env.ANIMATE_TOKEN?.trim() || undefined },
    logger,
  });
  const shutdown = async (signal: string): Promise<void> => {
    logger.info(`slack: ${signal}, stopping`);
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('The Slack bot stopped:', err instanceof Error ? err.message : err);
  process.exit(1);
});
