// The playground as a FrontEnd: the local HTTP chat page (server.ts) on a shared core, for app/start.ts and main.ts.
// It is the one front-end a person opens in a browser, so it offers its URL as the first thing to try, and it stays
// up a moment after a drain delivered clips, since the page fetches a clip by URL after being told of it.
import type { FrontEnd, FrontEndDeps } from '../core/front-end.ts';
import { consoleLogger } from '../core/logger.ts';
import type { PlaygroundSettings } from './config.ts';
import { startPlayground, type RunningPlayground } from './server.ts';

/** After a drain delivered clips, the playground stays up this long so the page can still fetch the clip it was just sent. */
export const PLAYGROUND_LINGER_MS = 1500;

export function createPlaygroundFrontEnd(config: PlaygroundSettings, deps: FrontEndDeps): FrontEnd {
  let running: RunningPlayground | undefined;
  return {
    name: 'Playground',
    lingerMs: PLAYGROUND_LINGER_MS,
    get where() {
      return running?.url ?? `http://${config.host}:${config.port}/`;
    },
    get openUrl() {
      return running?.url;
    },
    async start() {
      running = await startPlayground({ core: deps.core, host: config.host, port: config.port, logger: deps.logger ?? consoleLogger('[playground]') });
    },
    async stop() {
      await running?.close();
      running = undefined;
    },
  };
}
