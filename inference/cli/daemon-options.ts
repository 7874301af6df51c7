// Daemon options from command-line flags and ANIMATE_* environment variables (flags win). The variables, their
// rules and help text live in one table (shared/config/variables.ts); this file only maps flags onto it.
import { VARIABLES, type VariableSpec } from '../../shared/config/index.ts';
import type { DaemonOptions } from '../server/daemon.ts';

export interface DaemonSetting {
  flag: string;
  key: keyof DaemonOptions | 'logLevel';
  variable: VariableSpec;
}

const FLAGS: Array<[flag: string, env: string, key: DaemonSetting['key']]> = [
  ['listen', 'ANIMATE_LISTEN', 'listen'],
  ['models-dir', 'ANIMATE_MODELS_DIR', 'modelsDir'],
  ['model', 'ANIMATE_DEFAULT_MODEL', 'defaultModel'],
  ['concurrency', 'ANIMATE_CONCURRENCY', 'concurrency'],
  ['max-queue', 'ANIMATE_MAX_QUEUE', 'maxQueue'],
  ['max-queue-per-user', 'ANIMATE_MAX_QUEUE_PER_USER', 'maxQueuePerUser'],
  ['token', 'ANIMATE_TOKEN', 'token'],
  ['provider', 'ANIMATE_EXECUTION_PROVIDER', 'executionProvider'],
  ['threads', 'ANIMATE_THREADS', 'threads'],
  ['log-level', 'ANIMATE_LOG_LEVEL', 'logLevel'],
];

export const DAEMON_SETTINGS: DaemonSetting[] = FLAGS.map(([flag, env, key]) => {
  const variable = VARIABLES.find((v) => v.name === env);
  if (!variable) throw new Error(`${env} is missing from shared/config/variables.ts`);
  return { flag, key, variable };
});

export class DaemonSettingError extends Error {
  readonly code = 'INVALID_SETTING';
}

/** Reads settings from flag values (already split by parseArgs) and the environment. */
export function daemonOptionsFrom(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): DaemonOptions & { logLevel?: 'debug' | 'info' | 'warn' | 'error' } {
  const options: Record<string, unknown> = {};
  for (const { flag, key, variable } of DAEMON_SETTINGS) {
    const fromFlag = flags[flag];
    const raw = fromFlag ?? env[variable.name];
    if (raw === undefined || raw === '') continue;
    const parsed = variable.schema.safeParse(raw);
    if (!parsed.success) {
      const source = fromFlag !== undefined ? `--${flag}` : variable.name;
      throw new DaemonSettingError(`${source}=${JSON.stringify(raw)} is not valid: accepts ${variable.accepts} (${variable.meaning}; default ${variable.default ?? 'unset'})`);
    }
    options[key] = parsed.data;
  }
  return options as DaemonOptions;
}

export function daemonSettingsHelp(): string {
  return DAEMON_SETTINGS.map(({ flag, variable: v }) => `  --${flag.padEnd(20)} ${v.name.padEnd(28)} ${v.meaning} (accepts ${v.accepts}; default ${v.default ?? 'unset'})`).join('\n');
}
