// The Slack front-end's settings, read from the environment (or .env) and validated once, here. Missing
// credentials stop the app with a message naming the variable and where to find its value.
import { z } from 'zod';

export type SlackMode = 'socket' | 'http';

export interface SlackBotConfig {
  /** SLACK_BOT_TOKEN (xoxb-…): the bot user's token, for the Web API. Required. */
  botToken: string;
  /** SLACK_MODE: 'socket' (default; needs SLACK_APP_TOKEN) or 'http' (needs SLACK_SIGNING_SECRET). */
  mode: SlackMode;
  /** SLACK_APP_TOKEN (xapp-…): app-level token with connections:write, for Socket Mode. */
  appToken?: string;
  /** SLACK_SIGNING_SECRET: verifies that HTTP requests come from Slack. */
  signingSecret?: string;
  /** SLACK_PORT: HTTP port in http mode; default 3000 (0 picks a free one). */
  port: number;
  /** SLACK_HOST: interface to listen on in http mode; default 0.0.0.0. */
  host: string;
  /** SLACK_API_URL: Web API base URL; default https://slack.com/api/ (tests point it at an emulator). */
  apiUrl?: string;
  /** SLACK_ADMIN_USER_IDS: comma-separated user ids that may cancel anyone's job (workspace admins always may). */
  adminUserIds: string[];
  /** SLACK_MAX_UPLOAD_MB: the workspace's upload limit; default 1024 (Slack's 1 GB). */
  maxUploadBytes: number;
}

export class SlackConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = 'SlackConfigError';
  }
}

const HELP: Record<string, string> = {
  SLACK_BOT_TOKEN: 'the Bot User OAuth Token (xoxb-…) from your app\'s "OAuth & Permissions" page',
  SLACK_APP_TOKEN: 'an app-level token (xapp-…) with the connections:write scope, from "Basic Information" → "App-Level Tokens" (needed for SLACK_MODE=socket)',
  SLACK_SIGNING_SECRET: 'the Signing Secret from your app\'s "Basic Information" page (needed for SLACK_MODE=http)',
};

function required(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new SlackConfigError(name, `${name} is not set: set it to ${HELP[name] ?? 'a value'}, in the environment or in .env.`);
  return value;
}

const envSchema = z.object({
  SLACK_MODE: z.enum(['socket', 'http'], { error: 'SLACK_MODE must be "socket" or "http"' }).default('socket'),
  SLACK_PORT: z.coerce.number({ error: 'SLACK_PORT must be a port number' }).int({ error: 'SLACK_PORT must be a whole number' }).min(0, { error: 'SLACK_PORT must be 0–65535' }).max(65535, { error: 'SLACK_PORT must be 0–65535' }).default(3000),
  SLACK_HOST: z.string().min(1).default('0.0.0.0'),
  SLACK_API_URL: z.url({ error: 'SLACK_API_URL must be a URL such as https://slack.com/api/' }).optional(),
  SLACK_ADMIN_USER_IDS: z.string().default(''),
  SLACK_MAX_UPLOAD_MB: z.coerce.number({ error: 'SLACK_MAX_UPLOAD_MB must be a number of megabytes' }).positive({ error: 'SLACK_MAX_UPLOAD_MB must be positive' }).default(1024),
});

/** Reads and checks the Slack settings. Throws SlackConfigError naming the variable at fault. */
export function loadSlackConfig(env: Readonly<Record<string, string | undefined>> = process.env): SlackBotConfig {
  const blankless = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = envSchema.safeParse(blankless);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SlackConfigError(String(issue?.path[0] ?? 'SLACK_*'), issue?.message ?? 'invalid Slack settings');
  }
  const e = parsed.data;
  const config: SlackBotConfig = {
    botToken: required(env, 'SLACK_BOT_TOKEN'),
    mode: e.SLACK_MODE,
    port: e.SLACK_PORT,
    host: e.SLACK_HOST,
    adminUserIds: e.SLACK_ADMIN_USER_IDS.split(',').map((s) => s.trim()).filter(Boolean),
    maxUploadBytes: Math.floor(e.SLACK_MAX_UPLOAD_MB * 1024 * 1024),
  };
  if (e.SLACK_API_URL) config.apiUrl = e.SLACK_API_URL;
  if (config.mode === 'socket') config.appToken = required(env, 'SLACK_APP_TOKEN');
  else config.signingSecret = required(env, 'SLACK_SIGNING_SECRET');
  return config;
}
