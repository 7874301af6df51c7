// `npm run bot:playground`: the playground on its own, against a running daemon (`npm start` runs both together).
// Settings come from the environment or .env through shared/config: PLAYGROUND_HOST, PLAYGROUND_PORT, and the
// daemon's ANIMATE_DAEMON_ADDRESS (default ANIMATE_LISTEN, 127.0.0.1:50051) / ANIMATE_TOKEN / ANIMATE_TLS_*.
import { runStandalone } from '../core/standalone.ts';
import { playgroundConfigFrom } from './config.ts';
import { createPlaygroundFrontEnd } from './front-end.ts';

void runStandalone({ title: 'playground', logPrefix: '[playground]', env: process.env, argv: process.argv.slice(2), settings: playgroundConfigFrom, create: createPlaygroundFrontEnd });
