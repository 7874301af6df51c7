// grpc-js logs through a process-wide logger of its own (console.error by default, in its own format, at the
// verbosity of GRPC_VERBOSITY). This routes it into the product's logger, so its lines come out in
// ANIMATE_LOG_FORMAT with scope 'grpc', and sets its verbosity from ANIMATE_LOG_LEVEL: debug → DEBUG (with
// GRPC_TRACE naming tracers, their lines too), info → INFO, warn and error → ERROR. An operator who sets
// GRPC_VERBOSITY keeps it: that variable is grpc-js's documented switch and wins.
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { LogSettingError, type PinoLogger } from './create-logger.ts';
import type { LogLevelName } from './format.ts';

const VERBOSITY: Record<LogLevelName | 'silent', grpc.logVerbosity> = {
  debug: grpc.logVerbosity.DEBUG,
  info: grpc.logVerbosity.INFO,
  warn: grpc.logVerbosity.ERROR,
  error: grpc.logVerbosity.ERROR,
  silent: grpc.logVerbosity.NONE,
};

export interface RouteGrpcOptions {
  /** The environment, for GRPC_VERBOSITY. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Sends grpc-js's log lines to `logger` (its child with scope 'grpc') at `level`; returns the verbosity set. `logger`
 * is the process's root, with no scope bound: pino merges no keys, so a child { scope: 'grpc' } of a scoped logger
 * would write "scope" twice on every line. A scoped one is refused (LOG_SETTING_INVALID), a programming error.
 */
export function routeGrpcLogs(logger: PinoLogger, level: LogLevelName | 'silent', options: RouteGrpcOptions = {}): grpc.logVerbosity {
  const scope = logger.bindings().scope;
  if (scope !== undefined) throw new LogSettingError(`routeGrpcLogs takes the process's root logger, with no scope; it was given one with scope "${String(scope)}", whose grpc-js lines would carry scope twice`);
  const env = options.env ?? process.env;
  const log = logger.child({ scope: 'grpc' });
  // grpc-js calls these with console-style arguments (a format string and values); each call is one line.
  grpc.setLogger({
    debug: (...args: unknown[]) => log.debug(format(...args)),
    info: (...args: unknown[]) => log.info(format(...args)),
    error: (...args: unknown[]) => log.error(format(...args)),
  });
  const fromEnv = env.GRPC_VERBOSITY?.toUpperCase();
  const named = (['DEBUG', 'INFO', 'ERROR', 'NONE'] as const).find((v) => v === fromEnv);
  const verbosity = named ? grpc.logVerbosity[named] : VERBOSITY[level];
  grpc.setLogVerbosity(verbosity);
  return verbosity;
}
