// Builds a Bolt App on the transport the configuration asks for: Socket Mode (app-level token, no public URL)
// or HTTP (signing secret; Bolt verifies X-Slack-Signature and refuses requests older than 5 minutes).
// The Web API base URL is configurable, so the whole app can be pointed at an emulator.
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { FetchFunction, WebClientOptions } from '@slack/web-api';
import type { SlackBotConfig } from './config.ts';
import type { Logger } from '../core/logger.ts';
import { boltLevelFor, boltLogger } from './bolt-logger.ts';

export interface SlackTransport {
  app: App;
  receiver: HTTPReceiver | SocketModeReceiver;
  mode: SlackBotConfig['mode'];
}

export interface SlackAppOptions {
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * The bot's ids from an auth.test already made (auth-check.ts): Bolt then makes none of its own when the App is
   * constructed (it would retry for about 30 minutes against an unreachable Slack). Default: Bolt calls auth.test.
   */
  identity?: { botId: string; botUserId: string };
  /** The fetch the Web API client uses (a proxy, custom TLS; tests record when each call is sent). Default globalThis.fetch. */
  fetch?: FetchFunction;
  // Logging (issue #24, bolt-logger.ts): Bolt, its receiver and its Web API clients log into the bots' logger.
  /** The bots' logger; Bolt's level then defaults to the level it writes from. Default: Bolt's console logger at warn. */
  logger?: Logger;
}

export function createSlackApp(config: SlackBotConfig, options: SlackAppOptions = {}): SlackTransport {
  const logger = options.logger ? boltLogger(options.logger) : undefined;
  const logLevel = options.logLevel ? boltLevelFor(options.logLevel) : (logger?.getLevel() ?? LogLevel.WARN);
  const logging = logger ? { logger, logLevel } : { logLevel };
  const clientOptions: WebClientOptions = {};
  if (config.apiUrl) clientOptions.slackApiUrl = config.apiUrl;
  if (options.fetch) clientOptions.fetch = options.fetch;
  const identity = options.identity ? { botId: options.identity.botId, botUserId: options.identity.botUserId } : {};
  if (config.mode === 'socket') {
    if (!config.appToken) throw new Error('SLACK_APP_TOKEN is required for Socket Mode');
    const receiver = new SocketModeReceiver({ appToken: config.appToken, ...logging, installerOptions: { clientOptions } });
    const app = new App({ token: config.botToken, ...identity, receiver, clientOptions, ...logging });
    return { app, receiver, mode: 'socket' };
  }
  if (!config.signingSecret) throw new Error('SLACK_SIGNING_SECRET is required for HTTP mode');
  const receiver = new HTTPReceiver({
    signingSecret: config.signingSecret,
    // Slash commands, interactivity and events all arrive here (see bots/slack/manifest.yaml).
    endpoints: '/slack/events',
    ...logging,
  });
  const app = new App({ token: config.botToken, ...identity, receiver, clientOptions, ...logging });
  return { app, receiver, mode: 'http' };
}
