// `npm run bot:slack`: the Slack front-end on its own. Settings come from the environment or .env:
// SLACK_BOT_TOKEN, SLACK_MODE (socket|http), SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, SLACK_PORT, SLACK_API_URL,
// plus ANIMATE_DAEMON_ADDRESS (host:port of a running inference daemon, default 127.0.0.1:50051), ANIMATE_TOKEN or
// ANIMATE_TOKEN_FILE, and ANIMATE_TLS / ANIMATE_TLS_CA / ANIMATE_TLS_CLIENT_CERT / ANIMATE_TLS_CLIENT_KEY for TLS.
// (`npm start` runs the daemon and every front-end together and passes them one shared bot core.)
import 'dotenv/config';
import { clientTransportFromEnv, TransportConfigError } from '../../shared/config/transport.ts';
import { consoleLogger } from '../core/logger.ts';
import { loadSlackConfig, SlackConfigError, startSlackBot } from './index.ts';

const logger = consoleLogger('[slack]');

async function main(): Promise<void> {
  let config;
  let transport;
  try {
    config = loadSlackConfig(process.env);
    transport = clientTransportFromEnv(process.env);
  } catch (err) {
    if (err instanceof SlackConfigError || err instanceof TransportConfigError) {
      console.error(`Cannot start the Slack bot: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const bot = await startSlackBot(config, {
    daemon: { address: process.env.ANIMATE_DAEMON_ADDRESS?.trim() || '127.0.0.1:50051', ...transport },
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
