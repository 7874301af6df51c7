// One typed, validated configuration for `npm start`: the daemon, the playground and the bots, from the
// environment and .env (the environment wins). A bad or unknown ANIMATE_/PLAYGROUND_/DISCORD_/SLACK_ variable
// stops startup with a message naming it and what it accepts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { resolveClientTls, resolveServerTls, resolveToken, type ClientTlsFiles, type ServerTlsFiles } from './transport.ts';
import { DEFAULT_SLACK_START_TIMEOUT_SECONDS, EXECUTION_PROVIDERS, OWNED_PREFIXES, VARIABLES, VARIABLE_NAMES, type ClusterRole, type Section, type VariableSpec } from './variables.ts';
import { DEFAULT_DAEMON_ADDRESS } from '../wire/address.ts';
import { nearestName } from '../did-you-mean.ts';
import { DEFAULT_LOG_FORMAT, type LogFormat } from '../log/format.ts';

export { VARIABLES, OWNED_PREFIXES, EXECUTION_PROVIDERS, SLACK_MODES, type VariableSpec } from './variables.ts';
export { clientTransportFromEnv, TransportConfigError, type ClientTlsFiles, type ServerTlsFiles } from './transport.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface DaemonConfig {
  /** ANIMATE_LISTEN: where the embedded daemon listens. */
  listen: string;
  /** ANIMATE_MODELS_DIR, resolved against the working directory. */
  modelsDir: string;
  defaultModel: string;
  concurrency: number;
  maxQueue: number;
  maxQueuePerUser: number;
  /** onnxruntime intra-op threads, 0 = one per core. */
  threads: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** ANIMATE_LOG_FORMAT: json, pretty, or auto (pretty on a terminal); shared/log/format.ts. */
  logFormat: LogFormat;
  /** ANIMATE_TOKEN, or the contents of ANIMATE_TOKEN_FILE: the daemon requires it, the bots send it. */
  token: string | undefined;
  /** ANIMATE_TLS_CERT / ANIMATE_TLS_KEY (/ ANIMATE_TLS_CLIENT_CA), read: the embedded daemon serves TLS with them. */
  tls: ServerTlsFiles | undefined;
  /** How the bots connect to the daemon: undefined = plaintext, an object = TLS ({} = system roots). */
  clientTls: ClientTlsFiles | undefined;
  executionProvider: (typeof EXECUTION_PROVIDERS)[number];
  /** ANIMATE_DAEMON_ADDRESS: a remote daemon to use instead of starting one. */
  remoteAddress: string | undefined;
  /** ANIMATE_MAX_STREAMS_PER_JOB / ANIMATE_MAX_STREAMS_PER_CONNECTION: Generate streams allowed at once. */
  maxStreamsPerJob: number;
  maxStreamsPerConnection: number;
  /** ANIMATE_DRAIN_SECONDS: on Ctrl-C, how long running clips may take to finish. */
  drainSeconds: number;
  /** ANIMATE_QUEUE_URL / ANIMATE_ROLE / ANIMATE_LEASE_SECONDS: the embedded daemon joins this cluster (docs/cluster.md). */
  queueUrl: string | undefined;
  role: ClusterRole;
  leaseSeconds: number;
  /** ANIMATE_METRICS_LISTEN: the embedded daemon's Prometheus metrics. */
  metricsListen: string | undefined;
  /** ANIMATE_SAFETY_MODEL_DIR, resolved against the working directory: the daemon-wide output safety classifier. */
  safetyModelDir: string | undefined;
  /** ANIMATE_STYLE_CACHE_MB: MiB of styled transformers kept for reuse (default DEFAULT_STYLE_CACHE_MB, in the table). */
  styleCacheMb: number;
  /** ANIMATE_PREVIEW_INTERVAL_MS: least ms between two previews of a clip (default DEFAULT_PREVIEW_MIN_INTERVAL_MS, in the table). */
  previewIntervalMs: number;
  /** ANIMATE_GUIDANCE_PASSES: 1 or 2 for every model; undefined = each package's own guidance_passes. */
  guidancePasses: 1 | 2 | undefined;
  /** ANIMATE_PROVENANCE_PROMPTS: each MP4's metadata carries its prompt too (default false, in the table). */
  provenancePrompts: boolean;
}

export interface PlaygroundConfig {
  enabled: boolean;
  host: string;
  port: number;
}

export interface DiscordConfig {
  /** True when DISCORD_TOKEN is set: `npm start` starts the Discord bot. */
  enabled: boolean;
  token: string | undefined;
  applicationId: string | undefined;
  guildId: string | undefined;
  apiUrl: string;
  gatewayUrl: string;
  maxUploadBytes: number;
  /** DISCORD_MESSAGE_CONTENT: request the privileged Message Content intent. Default false. */
  messageContent: boolean;
}

export interface SlackConfig {
  /** True when SLACK_BOT_TOKEN is set: `npm start` starts the Slack app. */
  enabled: boolean;
  botToken: string | undefined;
  appToken: string | undefined;
  signingSecret: string | undefined;
  mode: 'socket' | 'http';
  port: number;
  host: string;
  apiUrl: string;
  adminUserIds: string[];
  maxUploadBytes: number;
  /** SLACK_START_TIMEOUT_SECONDS: how long the start may take before the app counts as failed to start. */
  startTimeoutSeconds: number;
}

export interface AppConfig {
  daemon: DaemonConfig;
  playground: PlaygroundConfig;
  discord: DiscordConfig;
  slack: SlackConfig;
  /** `--help` was given: print helpText() and exit. */
  help: boolean;
  /** The merged variables (.env below the environment), for adapters with settings of their own. */
  env: Env;
  /** The .env file that was read, if any. */
  dotenvPath: string | undefined;
}

export class ConfigError extends Error {
  /** Every problem found, one line each, each naming its variable. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Configuration problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun \`npm start -- --help\` to list every variable.`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** Folder to look for .env in and to resolve relative paths against. Default process.cwd(). */
  cwd?: string;
  /** Read .env (default true); a path reads that file instead. */
  dotenv?: boolean | string;
}

function suggest(name: string): string {
  const near = nearestName(name, [...VARIABLE_NAMES]);
  return near ? ` Did you mean ${near}?` : '';
}

/**
 * One variable's raw value against its row of the table, for loadConfig and readSetting alike: undefined when unset
 * (blank counts as unset; with `withDefault`, the row's default is parsed instead), else its parsed value or the one
 * problem line that names it, what it got (hidden for secrets) and what it accepts.
 */
function parseVariable(spec: VariableSpec, raw: string | undefined, options: { withDefault: boolean }): { value: unknown; problem?: undefined } | { problem: string } | undefined {
  const given = raw !== undefined && raw.trim() !== '';
  if (!given && (!options.withDefault || spec.default === undefined)) return undefined;
  const input = given ? raw.trim() : (spec.default as string);
  const result = spec.schema.safeParse(input);
  if (result.success) return { value: result.data };
  const shown = spec.secret ? '(hidden)' : JSON.stringify(input);
  return { problem: `${result.error.issues[0]?.message ?? `${spec.name} is invalid`} (got ${shown}); accepts ${spec.accepts}.` };
}

/**
 * Reads the configuration. `argv` are the command-line arguments after the script (`--help` / `-h`).
 * Throws ConfigError listing every bad or unknown variable.
 */
export function loadConfig(env: Env = process.env, argv: readonly string[] = process.argv.slice(2), options: LoadConfigOptions = {}): AppConfig {
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const help = argv.includes('--help') || argv.includes('-h');
  for (const arg of argv) if (arg !== '--help' && arg !== '-h') problems.push(`unknown argument "${arg}": the only arguments are --help and --version; settings are environment variables.`);

  let fileVars: Record<string, string> = {};
  let dotenvPath: string | undefined;
  if (options.dotenv !== false) {
    const candidate = typeof options.dotenv === 'string' ? path.resolve(cwd, options.dotenv) : path.join(cwd, '.env');
    if (existsSync(candidate)) {
      dotenvPath = candidate;
      fileVars = parseDotenv(readFileSync(candidate));
    } else if (typeof options.dotenv === 'string') problems.push(`the .env file ${candidate} does not exist.`);
  }
  const merged: Record<string, string | undefined> = { ...fileVars, ...env };

  for (const name of Object.keys(merged)) {
    if (!OWNED_PREFIXES.some((p) => name.startsWith(p)) || VARIABLE_NAMES.has(name)) continue;
    problems.push(`unknown variable ${name}${fileVars[name] !== undefined && env[name] === undefined ? ' (in .env)' : ''}.${suggest(name)}`);
  }

  const values: Record<string, unknown> = {};
  for (const spec of VARIABLES) {
    const parsed = parseVariable(spec, merged[spec.name], { withDefault: true });
    if (parsed?.problem !== undefined) problems.push(parsed.problem);
    else if (parsed) values[spec.name] = parsed.value;
  }

  if (problems.length === 0) {
    // Cross-variable rules, each naming what to set.
    if (values.SLACK_BOT_TOKEN !== undefined) {
      if (values.SLACK_MODE === 'socket' && values.SLACK_APP_TOKEN === undefined) problems.push('SLACK_APP_TOKEN is required when SLACK_BOT_TOKEN is set and SLACK_MODE=socket (an xapp-… token with connections:write).');
      if (values.SLACK_MODE === 'http' && values.SLACK_SIGNING_SECRET === undefined) problems.push('SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set and SLACK_MODE=http.');
    }
    if (values.DISCORD_TOKEN !== undefined && values.DISCORD_APPLICATION_ID === undefined)
      problems.push('DISCORD_APPLICATION_ID is required when DISCORD_TOKEN is set (Developer Portal → General Information → Application ID).');
  }
  // Token and TLS: files are read now, so a missing or wrong one stops start-up naming its variable.
  const setting = (name: string) => ({ value: values[name] as string | undefined, source: name });
  const token = resolveToken({ token: setting('ANIMATE_TOKEN'), tokenFile: setting('ANIMATE_TOKEN_FILE') }, cwd);
  const serverTls = resolveServerTls({ cert: setting('ANIMATE_TLS_CERT'), key: setting('ANIMATE_TLS_KEY'), clientCa: setting('ANIMATE_TLS_CLIENT_CA') }, cwd);
  const embeddedTls = values.ANIMATE_DAEMON_ADDRESS === undefined && values.ANIMATE_TLS_CERT !== undefined;
  const clientTls = resolveClientTls(
    {
      enabled: values.ANIMATE_TLS === undefined ? undefined : { value: values.ANIMATE_TLS as boolean, source: 'ANIMATE_TLS' },
      ca: setting('ANIMATE_TLS_CA'),
      cert: setting('ANIMATE_TLS_CLIENT_CERT'),
      key: setting('ANIMATE_TLS_CLIENT_KEY'),
      serverName: setting('ANIMATE_TLS_SERVER_NAME'),
      defaultOn: embeddedTls ? { why: 'the embedded daemon serves TLS (ANIMATE_TLS_CERT)' } : undefined,
    },
    cwd,
  );
  problems.push(...token.problems, ...serverTls.problems, ...clientTls.problems);
  if (serverTls.value?.clientCa && embeddedTls && !clientTls.value?.cert)
    problems.push('ANIMATE_TLS_CLIENT_CA makes the embedded daemon require client certificates, so the bots need one too: set ANIMATE_TLS_CLIENT_CERT and ANIMATE_TLS_CLIENT_KEY.');

  if (problems.length > 0 && !help) throw new ConfigError(problems);

  const str = (name: string) => values[name] as string | undefined;
  const num = (name: string) => values[name] as number;
  const mb = (name: string) => Math.floor((values[name] as number) * 1024 * 1024);
  return {
    help,
    env: merged,
    dotenvPath,
    daemon: {
      listen: str('ANIMATE_LISTEN') ?? DEFAULT_DAEMON_ADDRESS,
      modelsDir: path.resolve(cwd, str('ANIMATE_MODELS_DIR') ?? 'models'),
      defaultModel: str('ANIMATE_DEFAULT_MODEL') ?? 'tiny-world',
      concurrency: num('ANIMATE_CONCURRENCY') ?? 1,
      maxQueue: num('ANIMATE_MAX_QUEUE') ?? 32,
      maxQueuePerUser: num('ANIMATE_MAX_QUEUE_PER_USER') ?? 8,
      threads: num('ANIMATE_THREADS') ?? 0,
      logLevel: (str('ANIMATE_LOG_LEVEL') ?? 'info') as DaemonConfig['logLevel'],
      logFormat: (str('ANIMATE_LOG_FORMAT') ?? DEFAULT_LOG_FORMAT) as LogFormat,
      token: token.value,
      tls: serverTls.value,
      clientTls: clientTls.value,
      executionProvider: (str('ANIMATE_EXECUTION_PROVIDER') ?? 'cpu') as DaemonConfig['executionProvider'],
      remoteAddress: str('ANIMATE_DAEMON_ADDRESS'),
      maxStreamsPerJob: num('ANIMATE_MAX_STREAMS_PER_JOB'),
      maxStreamsPerConnection: num('ANIMATE_MAX_STREAMS_PER_CONNECTION'),
      drainSeconds: num('ANIMATE_DRAIN_SECONDS'),
      queueUrl: str('ANIMATE_QUEUE_URL'),
      role: (str('ANIMATE_ROLE') ?? 'both') as ClusterRole,
      leaseSeconds: num('ANIMATE_LEASE_SECONDS') ?? 30,
      metricsListen: str('ANIMATE_METRICS_LISTEN'),
      safetyModelDir: str('ANIMATE_SAFETY_MODEL_DIR') === undefined ? undefined : path.resolve(cwd, str('ANIMATE_SAFETY_MODEL_DIR')!),
      // Defaults come from the table (parseVariable withDefault), written there once.
      styleCacheMb: num('ANIMATE_STYLE_CACHE_MB'),
      previewIntervalMs: num('ANIMATE_PREVIEW_INTERVAL_MS'),
      guidancePasses: values.ANIMATE_GUIDANCE_PASSES as 1 | 2 | undefined,
      provenancePrompts: values.ANIMATE_PROVENANCE_PROMPTS === true,
    },
    playground: { enabled: (values.PLAYGROUND_ENABLED as boolean | undefined) ?? true, host: str('PLAYGROUND_HOST') ?? '127.0.0.1', port: num('PLAYGROUND_PORT') ?? 8787 },
    discord: {
      enabled: str('DISCORD_TOKEN') !== undefined,
      token: str('DISCORD_TOKEN'),
      applicationId: str('DISCORD_APPLICATION_ID'),
      guildId: str('DISCORD_GUILD_ID'),
      apiUrl: str('DISCORD_API_URL') ?? 'https://discord.com/api',
      gatewayUrl: str('DISCORD_GATEWAY_URL') ?? 'wss://gateway.discord.gg',
      maxUploadBytes: values.DISCORD_MAX_UPLOAD_MB === undefined ? 10 * 1024 * 1024 : mb('DISCORD_MAX_UPLOAD_MB'),
      messageContent: (values.DISCORD_MESSAGE_CONTENT as boolean | undefined) ?? false,
    },
    slack: {
      enabled: str('SLACK_BOT_TOKEN') !== undefined,
      botToken: str('SLACK_BOT_TOKEN'),
      appToken: str('SLACK_APP_TOKEN'),
      signingSecret: str('SLACK_SIGNING_SECRET'),
      mode: (str('SLACK_MODE') ?? 'socket') as SlackConfig['mode'],
      port: num('SLACK_PORT') ?? 3000,
      host: str('SLACK_HOST') ?? '0.0.0.0',
      apiUrl: str('SLACK_API_URL') ?? 'https://slack.com/api/',
      adminUserIds: (str('SLACK_ADMIN_USER_IDS') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      maxUploadBytes: values.SLACK_MAX_UPLOAD_MB === undefined ? 1024 * 1024 * 1024 : mb('SLACK_MAX_UPLOAD_MB'),
      startTimeoutSeconds: num('SLACK_START_TIMEOUT_SECONDS') ?? DEFAULT_SLACK_START_TIMEOUT_SECONDS,
    },
  };
}

const SECTION_TITLES: Record<Section, string> = {
  daemon: 'Daemon (inference)',
  transport: 'Token and TLS (daemon ↔ bots and CLI; see README "A GPU or remote daemon")',
  playground: 'Playground (local web chat)',
  discord: 'Discord (started when DISCORD_TOKEN is set)',
  slack: 'Slack (started when SLACK_BOT_TOKEN is set)',
};

/**
 * One variable of the table, read and validated on its own (for command lines that take a setting or two, such as
 * `npm run animate`'s ANIMATE_DAEMON_ADDRESS): undefined when unset, ConfigError naming it when invalid.
 */
export function readSetting(env: Env, name: string): unknown {
  const spec = VARIABLES.find((v) => v.name === name);
  if (!spec) throw new TypeError(`${name} is not in shared/config/variables.ts`);
  const parsed = parseVariable(spec, env[name], { withDefault: false });
  if (parsed?.problem !== undefined) throw new ConfigError([parsed.problem]);
  return parsed?.value;
}

/** The text of `npm start -- --help`: every variable with its default and meaning. */
export function helpText(): string {
  const lines = [
    'npm start: runs the inference daemon, the local playground and the Discord / Slack bots that have credentials.',
    'Settings come from the environment or a .env file in the working directory (the environment wins).',
    '',
  ];
  const width = Math.max(...VARIABLES.map((v) => v.name.length));
  for (const section of Object.keys(SECTION_TITLES) as Section[]) {
    lines.push(`${SECTION_TITLES[section]}:`);
    for (const v of VARIABLES.filter((x) => x.section === section)) {
      const def = v.default === undefined ? 'unset' : v.default;
      lines.push(`  ${v.name.padEnd(width)}  ${v.meaning}`);
      lines.push(`  ${''.padEnd(width)}  accepts: ${v.accepts}; default: ${def}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
