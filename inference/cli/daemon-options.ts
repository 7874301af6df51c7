// Daemon options from command-line flags and ANIMATE_* environment variables (flags win). Every bad value stops
// start-up with a message naming the flag or variable and what it accepts.
import { z } from 'zod';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../backend/onnx.ts';
import type { DaemonOptions } from '../server/daemon.ts';

export interface DaemonSetting {
  flag: string;
  env: string;
  key: keyof DaemonOptions;
  help: string;
  fallback: string;
  parse: z.ZodType<unknown>;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const DAEMON_SETTINGS: DaemonSetting[] = [
  { flag: 'listen', env: 'ANIMATE_LISTEN', key: 'listen', help: 'HOST:PORT to serve gRPC on', fallback: '127.0.0.1:50051', parse: z.string().regex(/^.+:\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:50051') },
  { flag: 'models-dir', env: 'ANIMATE_MODELS_DIR', key: 'modelsDir', help: 'folder whose sub-folders are model packages', fallback: 'models/', parse: z.string().min(1) },
  { flag: 'model', env: 'ANIMATE_DEFAULT_MODEL', key: 'defaultModel', help: 'model used when a request names none', fallback: 'tiny-world', parse: z.string().min(1) },
  { flag: 'concurrency', env: 'ANIMATE_CONCURRENCY', key: 'concurrency', help: 'jobs denoising at once (steps are batched together)', fallback: '1', parse: int(1, 64) },
  { flag: 'max-queue', env: 'ANIMATE_MAX_QUEUE', key: 'maxQueue', help: 'jobs waiting at most; beyond it RESOURCE_EXHAUSTED', fallback: '32', parse: int(0, 10_000) },
  { flag: 'max-queue-per-user', env: 'ANIMATE_MAX_QUEUE_PER_USER', key: 'maxQueuePerUser', help: 'jobs one person may have waiting', fallback: '8', parse: int(1, 10_000) },
  { flag: 'token', env: 'ANIMATE_TOKEN', key: 'token', help: 'require "authorization: Bearer <token>" on every call', fallback: '(none)', parse: z.string().min(1) },
  { flag: 'provider', env: 'ANIMATE_EXECUTION_PROVIDER', key: 'executionProvider', help: `onnxruntime execution provider: ${EXECUTION_PROVIDERS.join(', ')}`, fallback: 'cpu', parse: z.enum(EXECUTION_PROVIDERS as [ExecutionProvider, ...ExecutionProvider[]]) },
  { flag: 'threads', env: 'ANIMATE_THREADS', key: 'threads', help: 'onnxruntime threads per operator (0 = one per core)', fallback: '0', parse: int(0, 256) },
];

export class DaemonSettingError extends Error {
  readonly code = 'INVALID_SETTING';
}

/** Reads settings from flag values (already split by parseArgs) and the environment. */
export function daemonOptionsFrom(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): DaemonOptions {
  const options: Record<string, unknown> = {};
  for (const s of DAEMON_SETTINGS) {
    const fromFlag = flags[s.flag];
    const raw = fromFlag ?? env[s.env];
    if (raw === undefined || raw === '') continue;
    const parsed = s.parse.safeParse(raw);
    if (!parsed.success) {
      const source = fromFlag !== undefined ? `--${s.flag}` : s.env;
      throw new DaemonSettingError(`${source}=${JSON.stringify(raw)} is not valid: ${parsed.error.issues[0]?.message ?? 'invalid'} (${s.help}; default ${s.fallback})`);
    }
    options[s.key] = parsed.data;
  }
  return options as DaemonOptions;
}

export function daemonSettingsHelp(): string {
  return DAEMON_SETTINGS.map((s) => `  --${s.flag.padEnd(20)} ${s.env.padEnd(28)} ${s.help} (default ${s.fallback})`).join('\n');
}
