// `npm run daemon`: serve the Animator gRPC API until Ctrl-C.
import { parseArgs } from 'node:util';
import { DAEMON_SETTINGS, daemonOptionsFrom, daemonSettingsHelp } from './daemon-options.ts';
import { startDaemon } from '../server/daemon.ts';
import { createLogger } from '../log.ts';

const USAGE = `Usage: npm run daemon -- [options]

Serves the Animator gRPC API (proto/animate/v1/animator.proto) and grpc.health.v1.
Every option can also be set by its environment variable (or .env); flags win.

Options (flag, variable, meaning):
${daemonSettingsHelp()}
  -h, --help                                          show this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(DAEMON_SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    process.loadEnvFile?.('.env');
  } catch {
    // No .env: the environment alone is fine.
  }
  const { logLevel, ...options } = daemonOptionsFrom(values as Record<string, string | undefined>, process.env);
  const log = createLogger(logLevel ?? 'info');
  const daemon = await startDaemon({ ...options, logger: log });
  process.stdout.write(`animate daemon ready on ${daemon.address} (models: ${daemon.models.names().join(', ')}; default ${daemon.models.defaultModel})\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info(`${signal}: shutting down (again to force)`);
    void daemon.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`animate daemon: ${err.message}\n`);
  process.exit(1);
});
