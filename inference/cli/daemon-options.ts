// Daemon options from command-line flags and ANIMATE_* environment variables (flags win). The variables, their
// rules and help text live in one table (shared/config/variables.ts); this file only maps flags onto it. The
// token and TLS files are read here (shared/config/transport.ts), so a bad one stops start-up naming its flag.
import { VARIABLES, type VariableSpec } from '../../shared/config/index.ts';
import { resolveServerTls, resolveToken, type Setting } from '../../shared/config/transport.ts';
import type { DaemonOptions } from '../server/daemon.ts';
import type { LogFormat } from '../../shared/log/format.ts';
import { resolveWatermark, type WatermarkSettings, type WatermarkSources } from '../media/watermark.ts';

type FileKey = 'tokenFile' | 'tlsCert' | 'tlsKey' | 'tlsClientCa';
/** The watermark settings, folded into one checked `watermark` (inference/media/watermark.ts) after parsing. */
type WatermarkKey = 'watermarkText' | 'watermarkImage' | 'watermarkCorner' | 'watermarkOpacity' | 'watermarkFont';

export interface DaemonSetting {
  flag: string;
  /** The option it sets; the file settings are read and folded into `token` / `tls` afterwards. */
  key: keyof DaemonOptions | 'logLevel' | 'logFormat' | 'drainSeconds' | FileKey | WatermarkKey;
  variable: VariableSpec;
}

const FLAGS: Array<[flag: string, env: string, key: DaemonSetting['key']]> = [
  ['listen', 'ANIMATE_LISTEN', 'listen'],
  ['models-dir', 'ANIMATE_MODELS_DIR', 'modelsDir'],
  ['model', 'ANIMATE_DEFAULT_MODEL', 'defaultModel'],
  ['concurrency', 'ANIMATE_CONCURRENCY', 'concurrency'],
  ['max-queue', 'ANIMATE_MAX_QUEUE', 'maxQueue'],
  ['max-queue-per-user', 'ANIMATE_MAX_QUEUE_PER_USER', 'maxQueuePerUser'],
  ['max-streams-per-job', 'ANIMATE_MAX_STREAMS_PER_JOB', 'maxStreamsPerJob'],
  ['max-streams-per-connection', 'ANIMATE_MAX_STREAMS_PER_CONNECTION', 'maxStreamsPerConnection'],
  // Kept for compatibility: a token on the command line is visible to every local user (ps); prefer --token-file.
  ['token', 'ANIMATE_TOKEN', 'token'],
  ['token-file', 'ANIMATE_TOKEN_FILE', 'tokenFile'],
  ['tls-cert', 'ANIMATE_TLS_CERT', 'tlsCert'],
  ['tls-key', 'ANIMATE_TLS_KEY', 'tlsKey'],
  ['tls-client-ca', 'ANIMATE_TLS_CLIENT_CA', 'tlsClientCa'],
  ['provider', 'ANIMATE_EXECUTION_PROVIDER', 'executionProvider'],
  ['threads', 'ANIMATE_THREADS', 'threads'],
  ['guidance-passes', 'ANIMATE_GUIDANCE_PASSES', 'guidancePasses'],
  ['style-cache-mb', 'ANIMATE_STYLE_CACHE_MB', 'styleCacheMb'],
  ['preview-interval-ms', 'ANIMATE_PREVIEW_INTERVAL_MS', 'previewIntervalMs'],
  ['log-level', 'ANIMATE_LOG_LEVEL', 'logLevel'],
  ['log-format', 'ANIMATE_LOG_FORMAT', 'logFormat'],
  ['drain-seconds', 'ANIMATE_DRAIN_SECONDS', 'drainSeconds'],
  ['queue', 'ANIMATE_QUEUE_URL', 'queueUrl'],
  ['role', 'ANIMATE_ROLE', 'role'],
  ['lease-seconds', 'ANIMATE_LEASE_SECONDS', 'leaseSeconds'],
  ['metrics-listen', 'ANIMATE_METRICS_LISTEN', 'metricsListen'],
  ['blocklist-file', 'ANIMATE_BLOCKLIST_FILE', 'blocklistFile'],
  ['log-prompts', 'ANIMATE_LOG_PROMPTS', 'logPrompts'],
  ['provenance-prompts', 'ANIMATE_PROVENANCE_PROMPTS', 'provenancePrompts'],
  ['safety-model-dir', 'ANIMATE_SAFETY_MODEL_DIR', 'safetyModelDir'],
  ['watermark', 'ANIMATE_WATERMARK', 'watermarkText'],
  ['watermark-image', 'ANIMATE_WATERMARK_IMAGE', 'watermarkImage'],
  ['watermark-corner', 'ANIMATE_WATERMARK_CORNER', 'watermarkCorner'],
  ['watermark-opacity', 'ANIMATE_WATERMARK_OPACITY', 'watermarkOpacity'],
  ['watermark-font', 'ANIMATE_WATERMARK_FONT', 'watermarkFont'],
];

export const DAEMON_SETTINGS: DaemonSetting[] = FLAGS.map(([flag, env, key]) => {
  const variable = VARIABLES.find((v) => v.name === env);
  if (!variable) throw new Error(`${env} is missing from shared/config/variables.ts`);
  return { flag, key, variable };
});

export class DaemonSettingError extends Error {
  readonly code = 'INVALID_SETTING';
}

/** Reads settings from flag values (already split by parseArgs) and the environment; files relative to `cwd`. */
export function daemonOptionsFrom(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv, cwd = process.cwd()): DaemonOptions & { logLevel?: 'debug' | 'info' | 'warn' | 'error'; logFormat?: LogFormat; drainSeconds?: number } {
  const options: Record<string, unknown> = {};
  const sources: Partial<Record<DaemonSetting['key'], string>> = {};
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
    sources[key] = fromFlag !== undefined ? `--${flag}` : variable.name;
  }
  const take = (key: FileKey | 'token'): Setting | undefined => {
    const value = options[key] as string | undefined;
    delete options[key];
    return value === undefined ? undefined : { value, source: sources[key]! };
  };
  let token = take('token');
  let tokenFile = take('tokenFile');
  // A token flag wins over both token variables (flags win), rather than clashing with one of them.
  if (token?.source.startsWith('--') && tokenFile && !tokenFile.source.startsWith('--')) tokenFile = undefined;
  if (tokenFile?.source.startsWith('--') && token && !token.source.startsWith('--')) token = undefined;
  const resolvedToken = resolveToken({ token, tokenFile }, cwd);
  const tls = resolveServerTls(
    {
      cert: take('tlsCert') ?? { value: undefined, source: '--tls-cert (ANIMATE_TLS_CERT)' },
      key: take('tlsKey') ?? { value: undefined, source: '--tls-key (ANIMATE_TLS_KEY)' },
      clientCa: take('tlsClientCa'),
    },
    cwd,
  );
  // The watermark's PNG is read and checked here, and its font found, so a bad one stops start-up naming its setting.
  const watermarkKeys = { text: 'watermarkText', imagePath: 'watermarkImage', corner: 'watermarkCorner', opacity: 'watermarkOpacity', fontPath: 'watermarkFont' } as const;
  const watermarkSettings: WatermarkSettings = {};
  const watermarkSources: WatermarkSources = {};
  for (const [field, key] of Object.entries(watermarkKeys) as Array<[keyof WatermarkSettings, WatermarkKey]>) {
    if (options[key] !== undefined) Object.assign(watermarkSettings, { [field]: options[key] });
    if (sources[key] !== undefined) watermarkSources[field] = sources[key];
    delete options[key];
  }
  const watermark = resolveWatermark(watermarkSettings, watermarkSources, { cwd });
  const problems = [...resolvedToken.problems, ...tls.problems, ...watermark.problems];
  // A role or a lease without a queue would be ignored in silence: a "worker" that serves gRPC alone is a surprise.
  for (const key of ['role', 'leaseSeconds'] as const)
    if (options[key] !== undefined && options.queueUrl === undefined) problems.push(`${sources[key]} needs --queue (ANIMATE_QUEUE_URL): without a queue the daemon is one process and has no ${key === 'role' ? 'role' : 'lease'}`);
  if (problems.length) throw new DaemonSettingError(problems.join('\n'));
  if (resolvedToken.value !== undefined) options.token = resolvedToken.value;
  if (tls.value) options.tls = tls.value;
  if (watermark.value) options.watermark = watermark.value;
  return options as DaemonOptions;
}

export function daemonSettingsHelp(): string {
  return DAEMON_SETTINGS.map(({ flag, variable: v }) => `  --${flag.padEnd(20)} ${v.name.padEnd(28)} ${v.meaning} (accepts ${v.accepts}; default ${v.default ?? 'unset'})`).join('\n');
}
