// The one small interface every adapter (Discord, Slack, the playground) implements, so that whoever starts the
// product (app/start.ts, or an adapter's own main.ts) runs them all the same way: create, start, print where it is,
// stop. Modelled on Bolt's Receiver, which does the same for Slack's transports: the caller knows nothing of
// gateways, sockets or HTTP servers, only that a front-end starts, says where it is, and stops.
import type { BotCore } from './bot.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';

export interface FrontEnd {
  /** Shown in the start-up summary and in notes ("Slack failed to start: …"), e.g. 'Discord'. */
  readonly name: string;
  /** Where it is reachable, for the start-up summary (a URL, 'gateway', 'Socket Mode'); read after start() resolved. */
  readonly where: string;
  /** A page a person opens to use it (the playground's URL), printed as the first thing to try; undefined = none. */
  readonly openUrl?: string | undefined;
  /**
   * After a drain delivered clips, how long stop() is put off so that clients can still fetch what they were just
   * sent (the playground page loads the clip by URL after the event). Default 0.
   */
  readonly lingerMs?: number;
  /** Connects / listens; resolves once people can use it. Rejects (having cleaned up) when it cannot start. */
  start(): Promise<void>;
  /** Stops taking and delivering events. The bot core is closed by its owner, not here. */
  stop(): Promise<void>;
}

/** What every front-end factory is given: the shared bot core (its owner closes it) and where to log. */
export interface FrontEndDeps {
  core: BotCore;
  /** Default: a console logger with the front-end's own prefix ('[discord]', '[slack]', '[playground]'). */
  logger?: Logger;
  /** Default: the real clock. */
  clock?: Clock;
}

/** The shape of create<Platform>FrontEnd: the adapter's own settings in, a FrontEnd (not yet started) out. */
export type FrontEndFactory<Settings> = (settings: Settings, deps: FrontEndDeps) => FrontEnd;
