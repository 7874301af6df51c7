// The playground's settings, taken from the shared AppConfig (shared/config reads PLAYGROUND_* from the environment
// and .env and validates them, once, for every program).
import type { AppConfig } from '../../shared/config/index.ts';

export interface PlaygroundSettings {
  /** PLAYGROUND_HOST: the interface to listen on; default 127.0.0.1 (shared/config). */
  host: string;
  /** PLAYGROUND_PORT: default 8787; 0 picks a free port. */
  port: number;
}

/** The playground settings out of the shared configuration. */
export function playgroundConfigFrom(app: AppConfig): PlaygroundSettings {
  return { host: app.playground.host, port: app.playground.port };
}
