// Public exports of the Slack front-end: the Bolt plugin (registerAnimate) for an existing app, the standalone app
// (startSlackBot) and its FrontEnd (createSlackFrontEnd), the transport, and settings.
export { registerAnimate, DEFAULT_SLACK_LIMITS } from './plugin.ts';
export type { SlackAnimateOptions, SlackAnimatePlugin, ReplyWithClipRequest } from './plugin.ts';
export { createSlackFrontEnd, startSlackBot, type SlackBotDeps, type RunningSlackBot } from './front-end.ts';
export { createSlackApp, type SlackTransport } from './app.ts';
export { loadSlackConfig, slackConfigFrom, SlackConfigError, type SlackBotConfig, type SlackMode } from './config.ts';
export { SlackJobSurface, slackThreadId } from './surface.ts';
export { SlackRateGate } from './rate-gate.ts';
