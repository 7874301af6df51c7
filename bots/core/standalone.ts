// Runs one front-end on its own against a daemon that is already running (`npm run bot:discord`, `bot:slack`,
// `bot:playground`): the three main.ts files differ only in which front-end they make, so the reading of the
// configuration, the exit codes and the stop on Ctrl-C are written once, here. (`npm start`, app/start.ts, runs the
// daemon and every front-end together, with the drain; this is the small version for one bot.)
// Exit codes: 0 stopped on a signal (or --help), 2 a setting is missing or wrong, 1 it could not start or failed.
import { helpText, loadConfig, type AppConfig, type Env } from '../../shared/config/index.ts';
import { createBotCore } from './bot.ts';
import type { FrontEndFactory } from './front-end.ts';
import { consoleLogger } from './logger.ts';

export interface StandaloneOptions<Settings> {
  /** For messages: "Cannot start the Discord bot: …". */
  title: string;
  /** Log prefix of the front-end and its core, e.g. '[discord]'. */
  logPrefix: string;
  /** The process's variables, passed on to shared/config's loadConfig (with .env below them). */
  env: Env;
  /** The command-line arguments after the script (`--help` only). */
  argv: readonly string[];
  /** The adapter's settings out of the shared configuration; whatever it throws is a settings problem (exit 2). */
  settings(app: AppConfig): Settings;
  create: FrontEndFactory<Settings>;
}

/** Starts the front-end and keeps it running until SIGINT / SIGTERM; exits the process with the codes above. */
export async function runStandalone<Settings>(options: StandaloneOptions<Settings>): Promise<void> {
  const logger = consoleLogger(options.logPrefix);
  let app: AppConfig;
  let settings: Settings;
  try {
    app = loadConfig(options.env, options.argv);
    if (app.help) {
      console.log(helpText());
      return;
    }
    settings = options.settings(app);
  } catch (err) {
    console.error(`Cannot start the ${options.title}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  // The daemon this front-end talks to: ANIMATE_DAEMON_ADDRESS, else the one `npm run daemon` listens on.
  const address = app.daemon.remoteAddress ?? app.daemon.listen;
  const core = createBotCore({ daemonAddress: address, token: app.daemon.token, tls: app.daemon.clientTls, logger });
  const frontEnd = options.create(settings, { core, logger });
  try {
    await frontEnd.start();
  } catch (err) {
    await core.close({ drainMs: 0 }).catch(() => undefined);
    console.error(`The ${options.title} stopped: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  logger.info(`${frontEnd.name.toLowerCase()}: running (${frontEnd.where}), daemon ${address}`);
  if (frontEnd.openUrl) console.log(`Open ${frontEnd.openUrl} and type: /animate a red ball bouncing on the grass`);
  const shutdown = async (signal: string): Promise<void> => {
    logger.info(`${frontEnd.name.toLowerCase()}: ${signal}, stopping`);
    // The core first: it lets the running jobs end and tells their people, through the front-end still up.
    await core.close();
    await frontEnd.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
