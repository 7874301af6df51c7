// Counting Slack's 429s (animate_bot_rate_limited_total{platform="slack"}) from the Web API client's own event:
// WebClient emits WebClientEvent.RATE_LIMITED ('rate_limited', with the Retry-After seconds) for each 429 answer it
// will wait out, a documented part of @slack/web-api, where matching its log text would break silently on a reworded
// line. Bolt has more than one client: app.client, and a WebClient per token that it makes lazily for listeners
// (App.processEvent, WebClientPool), which no option reaches. Every listener's `client` argument passes through a
// global middleware, though, so one middleware subscribes each client the first time it is seen.
import type { App } from '@slack/bolt';
import { WebClientEvent, type WebClient } from '@slack/web-api';
import type { Logger } from '../core/logger.ts';
import type { BotMetrics } from '../core/metrics.ts';

export interface SlackRateLimitCounter {
  /** Counts this client's 429s too (a host's own client passed to replyWithClip); a client is subscribed once. */
  watch(client: WebClient): void;
}

/** Subscribes app.client now and every client Bolt hands a listener from now on; each 429 is counted and logged once. */
export function countSlackRateLimits(app: App, metrics: BotMetrics | undefined, logger: Logger): SlackRateLimitCounter {
  const watched = new WeakSet<WebClient>();
  const watch = (client: WebClient) => {
    if (watched.has(client)) return;
    watched.add(client);
    client.on(WebClientEvent.RATE_LIMITED, (retryAfterSeconds: number, request: { url?: string } = {}) => {
      metrics?.rateLimited('slack');
      logger.warn('slack: rate limited (429); the Web API client retries after the wait', { retryAfterSeconds, method: methodOf(request.url) });
    });
  };
  watch(app.client);
  app.use(async ({ client, next }) => {
    watch(client);
    await next();
  });
  return { watch };
}

/** 'chat.update' out of the request URL …/api/chat.update (nothing else of the URL is logged). */
function methodOf(url: string | undefined): string | undefined {
  const match = url ? /\/api\/([\w.]+)/.exec(url) : null;
  return match?.[1];
}
