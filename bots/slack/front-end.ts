// The Slack front-end: a Bolt app (Socket Mode or HTTP, bots/slack/app.ts) with the animate plugin registered on
// it. startSlackBot is the whole standalone app (also for code that embeds it); createSlackFrontEnd wraps it in the
// FrontEnd interface that app/start.ts and main.ts run. The start is bounded (auth-check.ts, then Socket Mode's
// connection within the same SLACK_START_TIMEOUT_SECONDS) and can be called off by stop(), so an unreachable Slack
// fails the start instead of hanging it, and Ctrl-C during start-up stops at once.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@slack/bolt';
import type { FetchFunction } from '@slack/web-api';
import { raceAbort } from '../../shared/abort.ts';
import { DEFAULT_SLACK_START_TIMEOUT_SECONDS } from '../../shared/config/variables.ts';
import { createBotCore, type BotCore, type BotCoreOptions } from '../core/bot.ts';
import type { Clock } from '../core/clock.ts';
import type { FrontEnd, FrontEndDeps } from '../core/front-end.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { createSlackApp } from './app.ts';
import { checkSlackAuth, SlackStartAbortedError, SlackUnreachableError } from './auth-check.ts';
import { SlackConfigError, type SlackBotConfig } from './config.ts';
import { registerAnimate, type SlackAnimateOptions, type SlackAnimatePlugin } from './plugin.ts';

export interface SlackBotDeps {
  /** A core to share (e.g. with the Discord front-end in `npm start`); otherwise one is made from `daemon`. */
  core?: BotCore;
  /** Where the daemon is, when no core is given. */
  daemon?: { address: string; token?: string | undefined; tls?: BotCoreOptions['tls'] };
  /** Extra core options when the core is made here (limits, content filter, deadline…). */
  coreOptions?: Omit<BotCoreOptions, 'connection' | 'daemonAddress' | 'token' | 'tls'>;
  /** Extra plugin options (preview interval, rate gate…). */
  plugin?: Omit<SlackAnimateOptions, 'core'>;
  clock?: Clock;
  logger?: Logger;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Calls the start off (SlackStartAbortedError), having let go of what it opened. */
  signal?: AbortSignal;
  /** The fetch the Web API client uses (see SlackAppOptions.fetch). Default globalThis.fetch. */
  fetch?: FetchFunction;
}

export interface RunningSlackBot {
  app: App;
  plugin: SlackAnimatePlugin;
  core: BotCore;
  mode: SlackBotConfig['mode'];
  /** In http mode: where Slack's requests go (`…/slack/events`). */
  url?: string;
  port?: number;
  /**
   * Stops the receiver and closes the core if it was made here, which stops its running jobs (their people are told);
   * a shared core is its owner's to drain and close. Safe to call again.
   */
  stop(): Promise<void>;
}

export async function startSlackBot(config: SlackBotConfig, deps: SlackBotDeps = {}): Promise<RunningSlackBot> {
  const logger = deps.logger ?? consoleLogger('[slack]');
  const startTimeoutMs = config.startTimeoutMs ?? DEFAULT_SLACK_START_TIMEOUT_SECONDS * 1000;
  const startedAt = Date.now();
  if (!deps.core && !deps.daemon) throw new SlackConfigError('ANIMATE_DAEMON_ADDRESS', 'startSlackBot needs a bot core or a daemon address');
  // Then, before anything is opened: is Slack there, and does it take the token? Bounded, no retries.
  const identity = await checkSlackAuth({ botToken: config.botToken, apiUrl: config.apiUrl, timeoutMs: startTimeoutMs, signal: deps.signal });
  let core = deps.core;
  const ownsCore = !core;
  if (!core) {
    if (!deps.daemon) throw new SlackConfigError('ANIMATE_DAEMON_ADDRESS', 'startSlackBot needs a bot core or a daemon address');
    core = createBotCore({
      daemonAddress: deps.daemon.address,
      token: deps.daemon.token,
      tls: deps.daemon.tls,
      logger,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...deps.coreOptions,
    });
  }
  const transport = createSlackApp(config, { identity, ...(deps.logLevel ? { logLevel: deps.logLevel } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}), logger });
  const plugin = registerAnimate(transport.app, {
    adminUserIds: config.adminUserIds,
    limits: { maxUploadBytes: config.maxUploadBytes },
    logger,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...deps.plugin,
    core,
  });
  transport.app.error(async (err) => logger.error('slack: unhandled error in a listener', err));

  const botCore = core;
  // Whether the receiver has something to stop: an HTTP server once listening; a Socket Mode client from the first
  // try to connect on (it keeps retrying after a failed start unless told to disconnect). Bolt's HTTP receiver rejects
  // stop() when it never listened, and closes its server itself when listen fails.
  let receiverOpen = false;
  let stopped: Promise<void> | undefined;
  const running: RunningSlackBot = {
    app: transport.app,
    plugin,
    core,
    mode: transport.mode,
    stop: () =>
      (stopped ??= (async () => {
        try {
          if (receiverOpen) await transport.app.stop();
        } finally {
          // Jobs still running are stopped now (the core's default close); `npm start` drains its shared core itself.
          if (ownsCore) await botCore.close();
        }
      })()),
  };
  try {
    if (transport.mode === 'http') {
      const server = (await transport.app.start({ port: config.port, host: config.host })) as Server;
      receiverOpen = true;
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
      running.port = port;
      running.url = `http://${host}:${port}/slack/events`;
      logger.info(`slack: listening for Slack requests on ${running.url} (workspace ${identity.team || '?'})`);
    } else {
      receiverOpen = true;
      // Socket Mode's client retries its connection for as long as it takes: bounded by what is left of the timeout.
      let timer: NodeJS.Timeout | undefined;
      const left = Math.max(1000, startTimeoutMs - (Date.now() - startedAt));
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SlackUnreachableError(`Socket Mode did not connect to Slack within ${Math.round(left / 1000)} s: check the network and SLACK_APP_TOKEN (SLACK_START_TIMEOUT_SECONDS sets how long to wait).`)), left);
        timer.unref();
      });
      try {
        await raceAbort(Promise.race([transport.app.start(), timedOut]), deps.signal, () => new SlackStartAbortedError());
      } finally {
        clearTimeout(timer);
      }
      logger.info('slack: connected with Socket Mode');
    }
  } catch (error) {
    // A failed start leaves nothing open: no receiver, and no core made here.
    await running.stop().catch((again: unknown) => logger.error('slack: cleaning up after a failed start failed too', again));
    throw error;
  }
  return running;
}

/** The Slack app as a FrontEnd on a shared core (which it does not close). */
export function createSlackFrontEnd(config: SlackBotConfig, deps: FrontEndDeps): FrontEnd {
  let running: RunningSlackBot | undefined;
  // The start under way (undefined once it failed: startSlackBot cleaned up), so a stop during it still stops the app.
  let starting: Promise<RunningSlackBot | undefined> | undefined;
  // stop() during the start calls it off (a Slack that does not answer is not waited out); one per start.
  let abort: AbortController | undefined;
  return {
    name: 'Slack',
    get where() {
      return running?.url ?? 'Socket Mode';
    },
    async start() {
      abort = new AbortController();
      const attempt = startSlackBot(config, { core: deps.core, signal: abort.signal, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.clock ? { clock: deps.clock } : {}) });
      starting = attempt.catch(() => undefined);
      running = await attempt;
    },
    async stop() {
      abort?.abort();
      const bot = running ?? (await starting);
      running = undefined;
      starting = undefined;
      await bot?.stop();
    },
  };
}
