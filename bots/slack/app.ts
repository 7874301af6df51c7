// Builds a Bolt App on the transport the configuration asks for: Socket Mode (app-level token, no public URL)
// or HTTP (signing secret; Bolt verifies X-Slack-Signature and refuses requests older than 5 minutes).
// The Web API base URL is configurable, so the whole app can be pointed at an emulator.
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { SlackBotConfig } from './config.ts';

export interface SlackTransport {
  app: App;
  receiver: HTTPReceiver | SocketModeReceiver;
  mode: SlackBotConfig['mode'];
}

export function createSlackApp(config: SlackBotConfig, options: { logLevel?: 'debug' | 'info' | 'warn' | 'error' } = {}): SlackTransport {
  const logLevel = { debug: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN, error: LogLevel.ERROR }[options.logLevel ?? 'warn'];
  const clientOptions = config.apiUrl ? { slackApiUrl: config.apiUrl } : {};
  if (config.mode === 'socket') {
    if (!config.appToken) throw new Error('SLACK_APP_TOKEN is required for Socket Mode');
    const receiver = new SocketModeReceiver({ appToken: config.appToken, logLevel, installerOptions: { clientOptions } });
    const app = new App({ token: config.botToken, receiver, clientOptions, logLevel });
    return { app, receiver, mode: 'socket' };
  }
  if (!config.signingSecret) throw new Error('SLACK_SIGNING_SECRET is required for HTTP mode');
  const receiver = new HTTPReceiver({
    signingSecret: config.signingSecret,
    // Slash commands, interactivity and events all arrive here (see bots/slack/manifest.yaml).
    endpoints: '/slack/events',
    logLevel,
  });
  const app = new App({ token: config.botToken, receiver, clientOptions, logLevel });
  return { app, receiver, mode: 'http' };
}
