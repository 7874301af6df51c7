// discord.js takes no logger: it reports through events. This forwards them into the bots' logger and counts the
// 429s in the bot metrics, for the Client the Discord front-end makes (front-end.ts) or one a host bot owns:
//   client 'warn' → warn, client 'error' → error, client 'debug' → debug (attached only when the logger writes debug:
//   the gateway's heartbeat chatter is a line every few seconds), REST 'rateLimited' (discord.js holds a request back
//   for a bucket it knows is empty) → warn, and every REST response with status 429 → a warn line and
//   animate_bot_rate_limited_total{platform="discord"}. (A 429 answer itself emits no 'rateLimited' in @discordjs/rest
//   2, only a 'response', so the count is taken there: one per 429 Discord sent.)
import { Events, RESTEvents, type Client, type RateLimitData } from 'discord.js';
import { levelOf, type Logger } from '../core/logger.ts';
import type { BotMetrics } from '../core/metrics.ts';

export interface ClientEventsOptions {
  logger: Logger;
  /** Where 429s are counted; undefined = not counted. */
  metrics?: BotMetrics | undefined;
}

/** Starts forwarding; returns the function that stops it (the listeners are removed). */
export function forwardClientEvents(client: Client, options: ClientEventsOptions): () => void {
  const { logger, metrics } = options;
  const onWarn = (message: string) => logger.warn(`discord.js: ${message}`);
  const onError = (error: Error) => logger.error('discord: client error', error);
  const onDebug = (message: string) => logger.debug(`discord.js: ${message}`);
  const onRateLimited = (info: RateLimitData) =>
    logger.warn('discord: holding a request back for a rate limit', { method: info.method, route: info.route, retryAfterMs: info.retryAfter, global: info.global, scope: info.scope });
  const onResponse = (request: { method: string; route: string; retries: number }, response: { status: number }) => {
    if (response.status !== 429) return;
    metrics?.rateLimited('discord');
    logger.warn('discord: rate limited (429); discord.js retries after the wait', { method: request.method, route: request.route, retries: request.retries });
  };
  const debug = levelOf(logger) === 'debug';
  client.on(Events.Warn, onWarn);
  client.on(Events.Error, onError);
  if (debug) client.on(Events.Debug, onDebug);
  client.rest.on(RESTEvents.RateLimited, onRateLimited);
  client.rest.on(RESTEvents.Response, onResponse);
  return () => {
    client.off(Events.Warn, onWarn);
    client.off(Events.Error, onError);
    if (debug) client.off(Events.Debug, onDebug);
    client.rest.off(RESTEvents.RateLimited, onRateLimited);
    client.rest.off(RESTEvents.Response, onResponse);
  };
}
