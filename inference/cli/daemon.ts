// `npm run daemon`: serve the Animator gRPC API until Ctrl-C. One Ctrl-C drains (queued requests are told to send
// again, running jobs finish for up to --drain-seconds, exit 0); a second, distinct Ctrl-C stops the running jobs at
// once and exits 130 after the inference worker's current call returns (shared/shutdown-signals.ts tells the copies
// of one press, which the launchers forward, from a second press).
import { parseCli } from './args.ts';
import { versionLine } from './version.ts';
import { VARIABLES } from '../../shared/config/index.ts';
import { DRAIN_OVERRUN_S, FORCE_BOUND_MS, onShutdownSignals } from '../../shared/shutdown-signals.ts';
import { DAEMON_SETTINGS, daemonOptionsFrom, daemonSettingsHelp } from './daemon-options.ts';
import { startDaemon } from '../server/daemon.ts';
import { daemonLogger } from '../log.ts';
import { loggerFromSettings } from '../../shared/log/create-logger.ts';
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL } from '../../shared/log/format.ts';
import { routeGrpcLogs } from '../../shared/log/grpc.ts';

/** The drain when neither --drain-seconds nor ANIMATE_DRAIN_SECONDS is given (the settings table's default). */
const DEFAULT_DRAIN_SECONDS = Number(VARIABLES.find((v) => v.name === 'ANIMATE_DRAIN_SECONDS')!.default);

const USAGE = `Usage: npm run daemon -- [options]

Serves the Animator gRPC API (proto/animate/v1/animator.proto) and grpc.health.v1.
Every option can also be set by its environment variable (or .env); flags win.

Options (flag, variable, meaning):
${daemonSettingsHelp()}
  --version                                           print the version
  -h, --help                                          show this help
`;


async function main(): Promise<void> {
  // parseCli (args.ts): did-you-mean for an unknown flag, a negative number as a value (--threads -1 reaches its rule).
  const { values } = parseCli({ name: 'daemon', help: 'npm run daemon -- --help' }, process.argv.slice(2), {
    ...Object.fromEntries(DAEMON_SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
    version: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, false);
  if (values.version) {
    process.stdout.write(`${versionLine()}\n`);
    return;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    process.loadEnvFile?.('.env');
  } catch {
    // No .env: the environment alone is fine.
  }
  const { logLevel, logFormat, drainSeconds, ...options } = daemonOptionsFrom(values as Record<string, string | undefined>, process.env);
  // The process's one logger, from --log-level / --log-format (or their variables); grpc-js's own lines go into it too.
  const root = loggerFromSettings({ logLevel: logLevel ?? DEFAULT_LOG_LEVEL, logFormat: logFormat ?? DEFAULT_LOG_FORMAT });
  routeGrpcLogs(root, logLevel ?? DEFAULT_LOG_LEVEL);
  const log = daemonLogger(root.child({ scope: 'daemon' }));
  const drainMs = (drainSeconds ?? DEFAULT_DRAIN_SECONDS) * 1000;
  const daemon = await startDaemon({ ...options, logger: log });
  // A cluster worker takes no gRPC calls: it says which worker it is instead of an address.
  if (daemon.role === 'worker') process.stdout.write(`animate worker ready (worker ${daemon.workerId}; models: ${daemon.models.names().join(', ')})\n`);
  else process.stdout.write(`animate daemon ready on ${daemon.address} (${daemon.role === 'single' ? '' : `cluster ${daemon.role}; `}models: ${daemon.models.names().join(', ')}; default ${daemon.models.defaultModel})\n`);
  // close() again with graceMs 0 stops the running jobs now; it resolves once the worker's current call has returned
  // (process.exit during an onnxruntime call aborts the process natively).
  let forcing = false;
  const force = (why: string) => {
    forcing = true;
    log.info(`${why}: stopping now`);
    setTimeout(() => process.exit(130), FORCE_BOUND_MS).unref();
    void daemon.close({ graceMs: 0 }).finally(() => process.exit(130));
  };
  onShutdownSignals({
    onDrain: (signal) => {
      log.info(`${signal}: draining (queued requests are told to send again; running jobs may finish for ${drainMs / 1000} s); again to stop now`);
      setTimeout(() => force(`still stopping ${DRAIN_OVERRUN_S} s past the drain`), drainMs + DRAIN_OVERRUN_S * 1000).unref();
      void daemon.close({ graceMs: drainMs }).then(() => process.exit(forcing ? 130 : 0));
    },
    onForce: (signal) => force(`${signal} again`),
  });
}

main().catch((err: Error) => {
  process.stderr.write(`animate daemon: ${err.message}\n`);
  process.exit(1);
});
