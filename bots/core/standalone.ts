// Runs one front-end on its own against a daemon that is already running (`npm run bot:discord`, `bot:slack`,
// `bot:playground`): the three main.ts files differ only in which front-end they make, so the reading of the
// configuration, the exit codes and the stop on Ctrl-C are written once, here. (`npm start`, app/start.ts, runs the
// daemon and every front-end together, with the drain; this is the small version for one bot.)
// Exit codes: 0 stopped on a signal (or --help), 2 a setting is missing or wrong, 1 it could not start or failed.
import { helpText, loadConfig, type AppConfig, type Env } from '../../shared/config/index.ts';
import { onShutdownSignals } from '../../shared/shutdown-signals.ts';
import { createBotCore } from './bot.ts';
import type { FrontEndFactory } from './front-end.ts';
import { loggerFromSettings } from '../../shared/log/create-logger.ts';
import { routeGrpcLogs } from '../../shared/log/grpc.ts';
import { startMetricsServer } from '../../shared/metrics/server.ts';
import { botLogger } from './logger.ts';
import { BotMetrics } from './metrics.ts';
import { EXAMPLE_COMMAND } from '../../shared/wire/examples.ts';

export interface StandaloneOptions<Settings> {
  /** For messages: "Cannot start the Discord bot: …". */
  title: string;
  /** Log scope of the front-end and its core, e.g. '[discord]' (scope discord). */
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
  // The process's one logger, from ANIMATE_LOG_LEVEL / ANIMATE_LOG_FORMAT; grpc-js's own lines go into it too.
  const root = loggerFromSettings(app.daemon);
  routeGrpcLogs(root, app.daemon.logLevel);
  const logger = botLogger(root.child({ scope: options.logPrefix.replace(/^\[|\]$/g, '') }));
  // The daemon this front-end talks to: ANIMATE_DAEMON_ADDRESS, else the one `npm run daemon` listens on.
  const address = app.daemon.remoteAddress ?? app.daemon.listen;
  // This process serves this registry alone on /metrics: the process metrics belong in it.
  const metrics = new BotMetrics({ defaultMetrics: true });
  const core = createBotCore({ daemonAddress: address, token: app.daemon.token, tls: app.daemon.clientTls, logger, metrics });
  const frontEnd = options.create(settings, { core, logger });
  let stopping = false;
  try {
    await frontEnd.start();
    // This bot's own /metrics when ANIMATE_METRICS_LISTEN is set (the daemon, a process of its own, serves its own).
    if (app.daemon.metricsListen) {
      const served = await startMetricsServer({ listen: app.daemon.metricsListen, metrics, healthy: () => !stopping });
      logger.info('metrics listening', { address: served.address });
    }
  } catch (err) {
    // The front-end cleaned up after itself (FrontEnd.start's contract); stop() is safe after a failed start all the same.
    await frontEnd.stop().catch(() => undefined);
    await core.close({ drainMs: 0 }).catch(() => undefined);
    console.error(`The ${options.title} stopped: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  logger.info(`${frontEnd.name.toLowerCase()}: running (${frontEnd.where}), daemon ${address}`);
  if (frontEnd.openUrl) console.log(`Open ${frontEnd.openUrl} and type: ${EXAMPLE_COMMAND}`);
  const drainMs = app.daemon.drainSeconds * 1000;
  const shutdown = async (signal: string): Promise<void> => {
    stopping = true;
    logger.info(`${frontEnd.name.toLowerCase()}: ${signal}, stopping (running clips get up to ${app.daemon.drainSeconds} s)`);
    // The core first: it lets the running jobs end for up to ANIMATE_DRAIN_SECONDS and tells the people waiting,
    // through the front-end still up; a second, distinct Ctrl-C ends the process at once.
    await core.close({ drainMs });
    await frontEnd.stop();
    process.exit(0);
  };
  // A stop that fails is logged and exits 1, never an unhandled rejection that leaves the process half stopped.
  const onSignal = (signal: string) => () =>
    shutdown(signal).catch((err: unknown) => {
      logger.error(`${frontEnd.name.toLowerCase()}: stopping failed`, err);
      process.exit(1);
    });
  // The copies of one Ctrl-C that the launchers forward count as one press (shared/shutdown-signals.ts), so they do
  // not cut the drain short; a later press does.
  onShutdownSignals({
    onDrain: (signal) => void onSignal(signal)(),
    onForce: (signal) => {
      logger.info(`${frontEnd.name.toLowerCase()}: ${signal} again, stopping now`);
      process.exit(130);
    },
  });
}
