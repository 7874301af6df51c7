// `npm run bot:slack`: the Slack front-end on its own, against a running daemon. Settings come from the environment
// or .env through shared/config: SLACK_BOT_TOKEN, SLACK_MODE (socket|http), SLACK_APP_TOKEN or SLACK_SIGNING_SECRET,
// SLACK_PORT, SLACK_API_URL, plus ANIMATE_DAEMON_ADDRESS (host:port of the daemon; default ANIMATE_LISTEN,
// 127.0.0.1:50051), ANIMATE_TOKEN or ANIMATE_TOKEN_FILE, and ANIMATE_TLS / ANIMATE_TLS_CA / ANIMATE_TLS_CLIENT_CERT /
// ANIMATE_TLS_CLIENT_KEY for TLS. (`npm start` runs the daemon and every front-end together on one shared bot core.)
import { runStandalone } from '../core/standalone.ts';
import { slackConfigFrom } from './config.ts';
import { createSlackFrontEnd } from './front-end.ts';

void runStandalone({ title: 'Slack bot', logPrefix: '[slack]', env: process.env, argv: process.argv.slice(2), settings: slackConfigFrom, create: createSlackFrontEnd });
