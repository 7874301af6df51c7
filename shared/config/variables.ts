// Every setting `npm start` reads, in one table: name, default, what it accepts, what it means, and the zod rule.
// `npm start -- --help` prints this table; loadConfig() validates against it. Add a variable here, nowhere else.
import { z } from 'zod';
import { DEFAULT_DRAIN_SECONDS } from '../shutdown-signals.ts';
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, LOG_FORMATS, LOG_LEVELS } from '../log/format.ts';
import { DAEMON_ADDRESS_FORMS, DEFAULT_DAEMON_ADDRESS, HOST_PORT_HINT, HOST_PORT_PATTERN, MAX_PORT, parseDaemonTarget } from '../wire/address.ts';
import { DEFAULT_STYLE_CACHE_MB } from '../wire/styles.ts';
import { DEFAULT_PREVIEW_MIN_INTERVAL_MS, MAX_PREVIEW_MIN_INTERVAL_MS } from '../wire/previews.ts';

export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export const SLACK_MODES = ['socket', 'http'] as const;
/**
 * How long the Slack app's start may take (auth.test, then Socket Mode's connection) before it counts as failed to
 * start, so that an unreachable Slack is a line in `npm start`'s summary, not a start that never ends.
 */
export const DEFAULT_SLACK_START_TIMEOUT_SECONDS = 15;
/** A cluster daemon's part (ANIMATE_ROLE): gateway (gRPC calls → the queue), worker (the queue → clips), or both. */
export const CLUSTER_ROLES = ['gateway', 'worker', 'both'] as const;
export type ClusterRole = (typeof CLUSTER_ROLES)[number];
/** Where the daemon's visible watermark goes (ANIMATE_WATERMARK_CORNER; drawn by inference/media/watermark.ts). */
export const WATERMARK_CORNERS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;
export type WatermarkCorner = (typeof WATERMARK_CORNERS)[number];
/** The watermark's defaults, written once (the table below and watermark.ts read them). */
export const WATERMARK_DEFAULTS = { corner: 'bottom-right', opacity: 0.6 } as const satisfies { corner: WatermarkCorner; opacity: number };
/** Variables with these prefixes belong to us: an unknown one is a typo and stops startup. */
export const OWNED_PREFIXES = ['ANIMATE_', 'PLAYGROUND_', 'DISCORD_', 'SLACK_'] as const;

export type Section = 'daemon' | 'transport' | 'playground' | 'discord' | 'slack';

export interface VariableSpec {
  name: string;
  section: Section;
  /** Shown in --help; undefined = unset by default. */
  default?: string;
  accepts: string;
  meaning: string;
  secret?: boolean;
  schema: z.ZodType;
}

// The HOST:PORT rule is the wire's (shared/wire/address.ts), so what a setting accepts the daemon can listen on.
const hostPort = (name: string) =>
  z.string().regex(HOST_PORT_PATTERN, { error: `${name} must be ${HOST_PORT_HINT}` }).refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= MAX_PORT, {
    error: `${name} must be HOST:PORT with a port from 0 to ${MAX_PORT}`,
  });
const port = (name: string) => {
  const message = `${name} must be a port number from 0 to 65535 (0 picks a free one)`;
  return z.coerce.number({ error: message }).int({ error: message }).min(0, { error: message }).max(65535, { error: message });
};
const whole = (name: string, min: number, max: number) => {
  const message = `${name} must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
/** The words a true/false setting accepts, written once: the zod rule below and parseBoolSetting (transport.ts) read it. */
export const BOOL_WORDS = { true: ['1', 'true', 'yes', 'on'], false: ['0', 'false', 'no', 'off'] } as const;
/** How the words are described in messages: "true or false (also 1/0, yes/no, on/off)". */
export const BOOL_HINT = `true or false (also ${BOOL_WORDS.true.map((t, i) => `${t}/${BOOL_WORDS.false[i]}`).filter((p) => p !== 'true/false').join(', ')})`;
/** true or false for one of BOOL_WORDS (any case, spaces around ignored); undefined for anything else. */
export function parseBoolWord(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if ((BOOL_WORDS.true as readonly string[]).includes(v)) return true;
  if ((BOOL_WORDS.false as readonly string[]).includes(v)) return false;
  return undefined;
}
const bool = (name: string) =>
  z
    .string()
    .refine((v) => parseBoolWord(v) !== undefined, { error: `${name} must be ${BOOL_HINT}` })
    .transform((v) => parseBoolWord(v)!);
const url = (name: string, example: string) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return ['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol);
    } catch {
      return false;
    }
  }, { error: `${name} must be a URL such as ${example}` });
/** The queue URL rule (ANIMATE_QUEUE_URL), also the daemon's own option check. */
export const queueUrl = (name: string) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      // The path, if any, is the database number.
      return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '' && /^\/?(\d{1,2})?$/.test(u.pathname);
    } catch {
      return false;
    }
  }, { error: `${name} must be a Redis URL such as redis://127.0.0.1:6379` });
const text = (name: string) => z.string().min(1, { error: `${name} must not be empty` });
const mb = (name: string) => {
  const message = `${name} must be a positive number of megabytes`;
  return z.coerce.number({ error: message }).positive({ error: message });
};

export const VARIABLES: readonly VariableSpec[] = [
  // Daemon
  { name: 'ANIMATE_LISTEN', section: 'daemon', default: DEFAULT_DAEMON_ADDRESS, accepts: 'HOST:PORT', meaning: 'where the embedded daemon listens for gRPC (port 0 picks a free one)', schema: hostPort('ANIMATE_LISTEN') },
  { name: 'ANIMATE_MODELS_DIR', section: 'daemon', default: 'models', accepts: 'a folder', meaning: 'folder whose sub-folders are model packages, or one package folder (relative to the repository)', schema: text('ANIMATE_MODELS_DIR') },
  { name: 'ANIMATE_DEFAULT_MODEL', section: 'daemon', default: 'tiny-world', accepts: 'a model folder name', meaning: 'model used when a request names none', schema: text('ANIMATE_DEFAULT_MODEL') },
  { name: 'ANIMATE_CONCURRENCY', section: 'daemon', default: '1', accepts: '1–64', meaning: 'jobs denoising at once (their steps are batched)', schema: whole('ANIMATE_CONCURRENCY', 1, 64) },
  { name: 'ANIMATE_MAX_QUEUE', section: 'daemon', default: '32', accepts: '0–10000', meaning: 'jobs waiting at most before "queue full"', schema: whole('ANIMATE_MAX_QUEUE', 0, 10_000) },
  { name: 'ANIMATE_MAX_QUEUE_PER_USER', section: 'daemon', default: '8', accepts: '1–10000', meaning: 'jobs one person may have waiting', schema: whole('ANIMATE_MAX_QUEUE_PER_USER', 1, 10_000) },
  { name: 'ANIMATE_MAX_STREAMS_PER_JOB', section: 'daemon', default: '8', accepts: '1–100000', meaning: 'Generate streams following one job at most (retries, second viewers)', schema: whole('ANIMATE_MAX_STREAMS_PER_JOB', 1, 100_000) },
  { name: 'ANIMATE_MAX_STREAMS_PER_CONNECTION', section: 'daemon', default: '256', accepts: '1–100000', meaning: 'Generate streams on one client connection at most (a bot carries all its jobs on one)', schema: whole('ANIMATE_MAX_STREAMS_PER_CONNECTION', 1, 100_000) },
  { name: 'ANIMATE_THREADS', section: 'daemon', default: '0', accepts: '0–256', meaning: 'onnxruntime threads per operator (0 = one per core)', schema: whole('ANIMATE_THREADS', 0, 256) },
  { name: 'ANIMATE_LOG_LEVEL', section: 'daemon', default: DEFAULT_LOG_LEVEL, accepts: LOG_LEVELS.join(' | '), meaning: 'how much the daemon, the bots, Bolt, discord.js and grpc-js log (debug adds discord.js\'s gateway chatter)', schema: z.enum(LOG_LEVELS, { error: `ANIMATE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }) },
  { name: 'ANIMATE_LOG_FORMAT', section: 'daemon', default: DEFAULT_LOG_FORMAT, accepts: LOG_FORMATS.join(' | '), meaning: 'log lines as JSON (one object per line), pretty (readable), or auto: pretty on a terminal, JSON otherwise', schema: z.enum(LOG_FORMATS, { error: `ANIMATE_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}` }) },
  { name: 'ANIMATE_DRAIN_SECONDS', section: 'daemon', default: String(DEFAULT_DRAIN_SECONDS), accepts: '0–3600', meaning: 'on Ctrl-C, how long running clips may take to finish (waiting ones are told at once to send again); a second Ctrl-C stops at once', schema: whole('ANIMATE_DRAIN_SECONDS', 0, 3600) },
  { name: 'ANIMATE_GUIDANCE_PASSES', section: 'daemon', accepts: '1 | 2', meaning: "guidance as one batch of cond and uncond (1) or two passes of batch 1 (2, where a batch of two does not fit on the card); unset: each package's guidance_passes", schema: whole('ANIMATE_GUIDANCE_PASSES', 1, 2) },
  { name: 'ANIMATE_STYLE_CACHE_MB', section: 'daemon', default: String(DEFAULT_STYLE_CACHE_MB), accepts: '0–65536', meaning: 'MiB of styled transformers (a style\'s LoRA merged in, per strength) kept for reuse, all models together; the least recently used go first', schema: whole('ANIMATE_STYLE_CACHE_MB', 0, 65_536) },
  { name: 'ANIMATE_PREVIEW_INTERVAL_MS', section: 'daemon', default: String(DEFAULT_PREVIEW_MIN_INTERVAL_MS), accepts: `0–${MAX_PREVIEW_MIN_INTERVAL_MS}`, meaning: 'least milliseconds between two previews of one clip (the first comes right after step 1; 0: as often as every_n_steps allows)', schema: whole('ANIMATE_PREVIEW_INTERVAL_MS', 0, MAX_PREVIEW_MIN_INTERVAL_MS) },
  { name: 'ANIMATE_EXECUTION_PROVIDER', section: 'daemon', default: 'cpu', accepts: EXECUTION_PROVIDERS.join(' | '), meaning: 'onnxruntime execution provider', schema: z.enum(EXECUTION_PROVIDERS, { error: `ANIMATE_EXECUTION_PROVIDER must be one of ${EXECUTION_PROVIDERS.join(', ')}` }) },
  // Cluster (README "Scale out"): without ANIMATE_QUEUE_URL the daemon is one process, as it always was
  { name: 'ANIMATE_QUEUE_URL', section: 'daemon', accepts: 'redis://HOST:PORT[/DB] (rediss:// for TLS)', meaning: 'join a cluster: jobs go on the shared BullMQ queue on this Redis (6.2 or newer)', schema: queueUrl('ANIMATE_QUEUE_URL') },
  { name: 'ANIMATE_ROLE', section: 'daemon', default: 'both', accepts: CLUSTER_ROLES.join(' | '), meaning: 'with ANIMATE_QUEUE_URL: a gateway takes gRPC calls and queues them, a worker runs them, both does both', schema: z.enum(CLUSTER_ROLES, { error: `ANIMATE_ROLE must be one of ${CLUSTER_ROLES.join(', ')}` }) },
  { name: 'ANIMATE_LEASE_SECONDS', section: 'daemon', default: '30', accepts: '1–600', meaning: "with ANIMATE_QUEUE_URL: a worker's hold on its running job; a dead worker's job runs again elsewhere within about twice this", schema: whole('ANIMATE_LEASE_SECONDS', 1, 600) },
  { name: 'ANIMATE_METRICS_LISTEN', section: 'daemon', accepts: 'HOST:PORT', meaning: 'serve Prometheus metrics on http://HOST:PORT/metrics (unset: no metrics server)', schema: hostPort('ANIMATE_METRICS_LISTEN') },
  // Moderation (issue #25, README "Moderation"): the daemon's prompt policy binds every client
  { name: 'ANIMATE_BLOCKLIST_FILE', section: 'daemon', accepts: 'a UTF-8 text file (≤ 1 MiB, ≤ 10000 lines of ≤ 200 characters)', meaning: 'the blocked terms or phrases, one per line (# comments): prompts and negative prompts holding one are refused (PERMISSION_DENIED); unset: the built-in list (nsfw, porn, nude, naked, gore, beheading, sexual)', schema: text('ANIMATE_BLOCKLIST_FILE') },
  { name: 'ANIMATE_LOG_PROMPTS', section: 'daemon', default: 'false', accepts: 'true | false', meaning: "log a refused request's prompt text with its requester (off: the requester and the term only)", schema: bool('ANIMATE_LOG_PROMPTS') },
  { name: 'ANIMATE_SAFETY_MODEL_DIR', section: 'daemon', accepts: 'a folder with model.onnx and config.json', meaning: 'an output safety classifier run on every model\'s clips and previews before they are sent (docs/model-package.md "safety/"); a flagged clip is withheld (OUTPUT_WITHHELD); unset: only packages\' own safety/', schema: text('ANIMATE_SAFETY_MODEL_DIR') },
  // Provenance (issue #25, README "Provenance"): a visible mark on every final clip, set here and nowhere else
  // Prompts are people's words: like ANIMATE_LOG_PROMPTS, they go into files (which travel beyond their thread) only when asked.
  { name: 'ANIMATE_PROVENANCE_PROMPTS', section: 'daemon', default: 'false', accepts: 'true | false', meaning: "also write the prompt and negative prompt into each MP4's metadata (off: the model, its hash, the seed and the settings only)", schema: bool('ANIMATE_PROVENANCE_PROMPTS') },
  { name: 'ANIMATE_WATERMARK', section: 'daemon', accepts: 'one line of text (1–100 characters)', meaning: 'draw this text on every final clip (not on previews); instead of ANIMATE_WATERMARK_IMAGE', schema: text('ANIMATE_WATERMARK') },
  { name: 'ANIMATE_WATERMARK_IMAGE', section: 'daemon', accepts: 'a PNG file (≤ 1 MiB, ≤ 1024×1024)', meaning: 'draw this PNG (alpha kept) on every final clip, shrunk to fit a third of it; instead of ANIMATE_WATERMARK', schema: text('ANIMATE_WATERMARK_IMAGE') },
  { name: 'ANIMATE_WATERMARK_CORNER', section: 'daemon', default: WATERMARK_DEFAULTS.corner, accepts: WATERMARK_CORNERS.join(' | '), meaning: 'where the watermark goes', schema: z.enum(WATERMARK_CORNERS, { error: `ANIMATE_WATERMARK_CORNER must be one of ${WATERMARK_CORNERS.join(', ')}` }) },
  { name: 'ANIMATE_WATERMARK_OPACITY', section: 'daemon', default: String(WATERMARK_DEFAULTS.opacity), accepts: '0–1', meaning: 'the watermark\'s opacity: 0 invisible, 1 opaque', schema: z.coerce.number({ error: 'ANIMATE_WATERMARK_OPACITY must be a number from 0 to 1' }).min(0, { error: 'ANIMATE_WATERMARK_OPACITY must be a number from 0 to 1' }).max(1, { error: 'ANIMATE_WATERMARK_OPACITY must be a number from 0 to 1' }) },
  { name: 'ANIMATE_WATERMARK_FONT', section: 'daemon', accepts: 'a .ttf or .otf file', meaning: "font of ANIMATE_WATERMARK (unset: fontconfig's bold sans-serif, else DejaVu Sans Bold or Liberation Sans Bold)", schema: text('ANIMATE_WATERMARK_FONT') },
  // The address-list rule (shared/wire/address.ts): one daemon, or several gateways of a cluster that calls spread over.
  { name: 'ANIMATE_DAEMON_ADDRESS', section: 'daemon', accepts: DAEMON_ADDRESS_FORMS, meaning: 'use this remote (e.g. GPU) daemon instead of starting one; several gateways of one cluster share the calls (round robin), and one that refuses new calls (draining, or its queue lost) is skipped', schema: z.string().superRefine((v, ctx) => {
    const parsed = parseDaemonTarget(v);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: `ANIMATE_DAEMON_ADDRESS ${parsed.problem}` });
  }) },
  // Transport: token and TLS between the daemon and its clients (read by shared/config/transport.ts)
  { name: 'ANIMATE_TOKEN', section: 'transport', accepts: 'text', meaning: 'shared secret: the daemon requires it, the bots send it (prefer ANIMATE_TOKEN_FILE)', secret: true, schema: text('ANIMATE_TOKEN') },
  { name: 'ANIMATE_TOKEN_FILE', section: 'transport', accepts: 'a file', meaning: 'file holding the shared secret (trailing newline ignored); instead of ANIMATE_TOKEN', schema: text('ANIMATE_TOKEN_FILE') },
  { name: 'ANIMATE_TLS_CERT', section: 'transport', accepts: 'a PEM file', meaning: 'the daemon serves TLS with this certificate (with ANIMATE_TLS_KEY)', schema: text('ANIMATE_TLS_CERT') },
  { name: 'ANIMATE_TLS_KEY', section: 'transport', accepts: 'a PEM file', meaning: "private key of ANIMATE_TLS_CERT (unencrypted; readable only by the daemon's user)", schema: text('ANIMATE_TLS_KEY') },
  { name: 'ANIMATE_TLS_CLIENT_CA', section: 'transport', accepts: 'a PEM file', meaning: 'mutual TLS: the daemon accepts only clients with a certificate signed by this CA', schema: text('ANIMATE_TLS_CLIENT_CA') },
  { name: 'ANIMATE_TLS', section: 'transport', accepts: 'true | false', meaning: 'clients connect with TLS (implied by the other ANIMATE_TLS_* client settings, and by an embedded daemon serving TLS)', schema: bool('ANIMATE_TLS') },
  { name: 'ANIMATE_TLS_CA', section: 'transport', accepts: 'a PEM file', meaning: "clients verify the daemon's certificate against this CA instead of the system roots", schema: text('ANIMATE_TLS_CA') },
  { name: 'ANIMATE_TLS_CLIENT_CERT', section: 'transport', accepts: 'a PEM file', meaning: 'mutual TLS: the certificate clients present (with ANIMATE_TLS_CLIENT_KEY)', schema: text('ANIMATE_TLS_CLIENT_CERT') },
  { name: 'ANIMATE_TLS_CLIENT_KEY', section: 'transport', accepts: 'a PEM file', meaning: 'private key of ANIMATE_TLS_CLIENT_CERT', schema: text('ANIMATE_TLS_CLIENT_KEY') },
  { name: 'ANIMATE_TLS_SERVER_NAME', section: 'transport', accepts: 'a host name', meaning: "name the daemon's certificate must carry, when it differs from the address's host", schema: text('ANIMATE_TLS_SERVER_NAME') },
  // Playground
  { name: 'PLAYGROUND_ENABLED', section: 'playground', default: 'true', accepts: 'true | false', meaning: 'serve the local chat playground', schema: bool('PLAYGROUND_ENABLED') },
  { name: 'PLAYGROUND_HOST', section: 'playground', default: '127.0.0.1', accepts: 'a host name or IP', meaning: 'interface the playground listens on', schema: text('PLAYGROUND_HOST') },
  { name: 'PLAYGROUND_PORT', section: 'playground', default: '8787', accepts: '0–65535', meaning: 'playground HTTP port (0 picks a free one)', schema: port('PLAYGROUND_PORT') },
  // Discord
  { name: 'DISCORD_TOKEN', section: 'discord', accepts: 'a bot token', meaning: 'starts the Discord bot when set (Developer Portal → Bot → Token)', secret: true, schema: text('DISCORD_TOKEN') },
  { name: 'DISCORD_APPLICATION_ID', section: 'discord', accepts: 'a snowflake id', meaning: 'the application id, for registering /animate', schema: z.string().regex(/^\d{5,25}$/, { error: 'DISCORD_APPLICATION_ID must be a numeric id (Developer Portal → General Information)' }) },
  { name: 'DISCORD_GUILD_ID', section: 'discord', accepts: 'a snowflake id', meaning: 'register commands in this guild only (development); unset = global', schema: z.string().regex(/^\d{5,25}$/, { error: 'DISCORD_GUILD_ID must be a numeric id (right-click the server → Copy Server ID)' }) },
  { name: 'DISCORD_API_URL', section: 'discord', default: 'https://discord.com/api', accepts: 'a URL', meaning: 'REST base URL (point it at an emulator in tests)', schema: url('DISCORD_API_URL', 'https://discord.com/api') },
  { name: 'DISCORD_GATEWAY_URL', section: 'discord', default: 'wss://gateway.discord.gg', accepts: 'a ws(s) URL', meaning: 'gateway URL (point it at an emulator in tests)', schema: url('DISCORD_GATEWAY_URL', 'wss://gateway.discord.gg') },
  { name: 'DISCORD_MAX_UPLOAD_MB', section: 'discord', default: '10', accepts: 'megabytes', meaning: 'upload limit when the interaction does not report one', schema: mb('DISCORD_MAX_UPLOAD_MB') },
  { name: 'DISCORD_MESSAGE_CONTENT', section: 'discord', default: 'false', accepts: 'true | false', meaning: 'request the privileged Message Content intent (enable it too: Developer Portal → Bot → Privileged Gateway Intents); off, thread refinement is by @mention', schema: bool('DISCORD_MESSAGE_CONTENT') },
  // Slack
  { name: 'SLACK_BOT_TOKEN', section: 'slack', accepts: 'xoxb-…', meaning: 'starts the Slack app when set (OAuth & Permissions → Bot User OAuth Token)', secret: true, schema: text('SLACK_BOT_TOKEN') },
  { name: 'SLACK_APP_TOKEN', section: 'slack', accepts: 'xapp-…', meaning: 'app-level token with connections:write (SLACK_MODE=socket)', secret: true, schema: text('SLACK_APP_TOKEN') },
  { name: 'SLACK_SIGNING_SECRET', section: 'slack', accepts: 'text', meaning: 'verifies requests from Slack (SLACK_MODE=http)', secret: true, schema: text('SLACK_SIGNING_SECRET') },
  { name: 'SLACK_MODE', section: 'slack', default: 'socket', accepts: SLACK_MODES.join(' | '), meaning: 'Socket Mode (no public URL) or HTTP events', schema: z.enum(SLACK_MODES, { error: 'SLACK_MODE must be "socket" or "http"' }) },
  { name: 'SLACK_PORT', section: 'slack', default: '3000', accepts: '0–65535', meaning: 'HTTP port for SLACK_MODE=http', schema: port('SLACK_PORT') },
  { name: 'SLACK_HOST', section: 'slack', default: '0.0.0.0', accepts: 'a host name or IP', meaning: 'interface for SLACK_MODE=http', schema: text('SLACK_HOST') },
  { name: 'SLACK_API_URL', section: 'slack', default: 'https://slack.com/api/', accepts: 'a URL', meaning: 'Web API base URL (point it at an emulator in tests)', schema: url('SLACK_API_URL', 'https://slack.com/api/') },
  { name: 'SLACK_ADMIN_USER_IDS', section: 'slack', accepts: 'comma-separated user ids', meaning: "may cancel anyone's job (workspace admins always may)", schema: z.string() },
  { name: 'SLACK_MAX_UPLOAD_MB', section: 'slack', default: '1024', accepts: 'megabytes', meaning: "the workspace's upload limit", schema: mb('SLACK_MAX_UPLOAD_MB') },
  { name: 'SLACK_START_TIMEOUT_SECONDS', section: 'slack', default: String(DEFAULT_SLACK_START_TIMEOUT_SECONDS), accepts: '1–300', meaning: 'how long connecting to Slack at start may take (auth.test, Socket Mode) before the app counts as failed to start', schema: whole('SLACK_START_TIMEOUT_SECONDS', 1, 300) },
];

export const VARIABLE_NAMES: ReadonlySet<string> = new Set(VARIABLES.map((v) => v.name));
