// The Slack app's first call, bounded: auth.test with a timeout and no retries, before Bolt is started. Bolt's own
// auth.test (made as the App is constructed) and its Web API client retry for about 30 minutes, so with Slack
// unreachable `npm start` never finished starting. Here an unreachable Slack, or a refused token, fails the start at
// once with a coded error saying which (the front door reports it and runs the others), and the answer's bot ids
// are handed to Bolt so that it makes no auth.test of its own. The call can be aborted (Ctrl-C during start-up).
import { ErrorCode, WebClient, LogLevel, type FetchFunction, type WebAPICallError } from '@slack/web-api';
import { CodedError } from '../../shared/errors.ts';

/** Slack did not answer in time, or could not be reached: a CodedError (shared/errors.ts). */
export class SlackUnreachableError extends CodedError<'SLACK_UNREACHABLE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SLACK_UNREACHABLE', message, options);
  }
}

/** Slack refused the bot token (invalid_auth, token_revoked…). */
export class SlackAuthError extends CodedError<'SLACK_AUTH_FAILED'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SLACK_AUTH_FAILED', message, options);
  }
}

/** The start was called off (the front-end was stopped, e.g. by Ctrl-C) while it waited for Slack. */
export class SlackStartAbortedError extends CodedError<'SLACK_START_ABORTED'> {
  constructor() {
    super('SLACK_START_ABORTED', 'The Slack app was stopped while it was starting.');
  }
}

export interface AuthCheckOptions {
  botToken: string;
  /** Web API base URL; undefined: Slack's own. */
  apiUrl?: string | undefined;
  /** How long auth.test may take, in ms. */
  timeoutMs: number;
  /** Aborts the call (SlackStartAbortedError). */
  signal?: AbortSignal | undefined;
}

export interface BotIdentity {
  botUserId: string;
  botId: string;
  team: string;
}

const OFFICIAL_API = 'https://slack.com/api/';

/** auth.test once, within `timeoutMs`; throws SlackUnreachableError, SlackAuthError or SlackStartAbortedError. */
export async function checkSlackAuth(options: AuthCheckOptions): Promise<BotIdentity> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw new SlackStartAbortedError();
  const where = options.apiUrl ?? OFFICIAL_API;
  const seconds = Math.round(timeoutMs / 100) / 10;
  const unreachable = (cause: unknown, why: string) =>
    new SlackUnreachableError(`Slack did not answer auth.test at ${where} ${why}: check the network${options.apiUrl ? ' and SLACK_API_URL' : ''} (SLACK_START_TIMEOUT_SECONDS sets how long to wait).`, { cause });
  // Our own controller ends the request on timeout or abort, whatever the client's own timeout does.
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  timer.unref();
  const client = new WebClient(options.botToken, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    logLevel: LogLevel.ERROR,
    // Node's fetch, with our signal added; its Response is the FetchResponse the client reads (the typings differ only
    // in how Headers' iterators are declared).
    fetch: ((url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal })) as unknown as FetchFunction,
  });
  try {
    const answer = await client.auth.test();
    if (!answer.user_id || !answer.bot_id) throw new SlackAuthError('Slack answered auth.test without a bot user: SLACK_BOT_TOKEN must be a bot token (xoxb-…), from "OAuth & Permissions".');
    return { botUserId: answer.user_id, botId: answer.bot_id, team: answer.team ?? '' };
  } catch (error) {
    if (error instanceof CodedError) throw error;
    if (signal?.aborted) throw new SlackStartAbortedError();
    const e = error as Partial<WebAPICallError>;
    if (e.code === ErrorCode.PlatformError) {
      const reason = (error as { data?: { error?: string } }).data?.error ?? 'refused';
      throw new SlackAuthError(`Slack refused SLACK_BOT_TOKEN (auth.test: ${reason}): set it to the Bot User OAuth Token (xoxb-…) from your app's "OAuth & Permissions" page.`, { cause: error });
    }
    if (controller.signal.aborted) throw unreachable(error, `within ${seconds} s`);
    if (e.code === ErrorCode.HTTPError) throw unreachable(error, `(HTTP ${(error as { statusCode?: number }).statusCode ?? '?'})`);
    if (e.code === ErrorCode.RateLimitedError) throw unreachable(error, '(rate limited)');
    const original = (error as { original?: { message?: string; cause?: { code?: string } } }).original;
    throw unreachable(error, `(${original?.cause?.code ?? original?.message ?? (error as Error).message})`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
