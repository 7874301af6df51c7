// The Slack front-end's settings, taken from the shared AppConfig (shared/config reads the environment and .env and
// validates every SLACK_* variable, once, for every program). Missing credentials stop the app with a
// SlackConfigError naming the variable and where to find its value.
import { ConfigError, loadConfig, type AppConfig, type Env } from '../../shared/config/index.ts';
import { CodedError } from '../../shared/errors.ts';

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
  /** SLACK_API_URL: Web API base URL; unset = Slack's own, https://slack.com/api/ (tests point it at an emulator). */
  apiUrl?: string;
  /** SLACK_ADMIN_USER_IDS: comma-separated user ids that may cancel anyone's job (workspace admins always may). */
  adminUserIds: string[];
  /** SLACK_MAX_UPLOAD_MB: the workspace's upload limit; default 1024 (Slack's 1 GB). */
  maxUploadBytes: number;
  /**
   * SLACK_START_TIMEOUT_SECONDS, in ms: how long start-up may wait for Slack (auth.test, then Socket Mode's
   * connection) before it fails. Default DEFAULT_SLACK_START_TIMEOUT_SECONDS (15 s).
   */
  startTimeoutMs?: number;
}

/** A missing or malformed Slack setting, naming its variable: a CodedError (shared/errors.ts), code INVALID_SLACK_SETTING. */
export class SlackConfigError extends CodedError<'INVALID_SLACK_SETTING'> {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('INVALID_SLACK_SETTING', message);
  }
}

const OFFICIAL_API = 'https://slack.com/api/';

const HELP: Record<string, string> = {
  SLACK_BOT_TOKEN: 'the Bot User OAuth Token (xoxb-…) from your app\'s "OAuth & Permissions" page',
  SLACK_APP_TOKEN: 'an app-level token (xapp-…) with the connections:write scope, from "Basic Information" → "App-Level Tokens" (needed for SLACK_MODE=socket)',
  SLACK_SIGNING_SECRET: 'the Signing Secret from your app\'s "Basic Information" page (needed for SLACK_MODE=http)',
};

function required(name: string, value: string | undefined): string {
  if (!value) throw new SlackConfigError(name, `${name} is not set: set it to ${HELP[name] ?? 'a value'}, in the environment or in .env.`);
  return value;
}

/** The Slack settings out of the shared configuration. Throws SlackConfigError naming the missing credential. */
export function slackConfigFrom(app: AppConfig): SlackBotConfig {
  const s = app.slack;
  const config: SlackBotConfig = {
    botToken: required('SLACK_BOT_TOKEN', s.botToken),
    mode: s.mode,
    port: s.port,
    host: s.host,
    adminUserIds: [...s.adminUserIds],
    maxUploadBytes: s.maxUploadBytes,
    startTimeoutMs: s.startTimeoutSeconds * 1000,
  };
  if (s.apiUrl !== OFFICIAL_API) config.apiUrl = s.apiUrl;
  if (config.mode === 'socket') config.appToken = required('SLACK_APP_TOKEN', s.appToken);
  else config.signingSecret = required('SLACK_SIGNING_SECRET', s.signingSecret);
  return config;
}

/**
 * Reads and checks the Slack settings from a set of variables (no .env file), through shared/config. Throws
 * SlackConfigError naming the variable at fault. Kept for code that has variables but no AppConfig.
 */
export function loadSlackConfig(env: Env): SlackBotConfig {
  let app: AppConfig;
  try {
    app = loadConfig(env, [], { dotenv: false });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const problem = err.problems.find((p) => p.startsWith('SLACK_')) ?? err.problems[0] ?? 'invalid Slack settings';
    throw new SlackConfigError(/^[A-Z][A-Z0-9_]*/.exec(problem)?.[0] ?? 'SLACK_*', problem);
  }
  return slackConfigFrom(app);
}
