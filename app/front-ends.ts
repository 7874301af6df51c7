// Which front-ends `npm start` runs, in one table: each adapter's FrontEnd factory, when the configuration turns it
// on, and the note printed when it is off. Adding a front-end is one row here plus its folder under bots/; the front
// door (start.ts) only walks this list.
import type { AppConfig } from '../shared/config/index.ts';
import type { FrontEnd, FrontEndDeps } from '../bots/core/front-end.ts';
import { createDiscordFrontEnd, discordConfigFrom } from '../bots/discord/index.ts';
import { createPlaygroundFrontEnd, playgroundConfigFrom } from '../bots/playground/index.ts';
import { createSlackFrontEnd, slackConfigFrom } from '../bots/slack/index.ts';

export interface FrontEndChoice {
  /** As the front-end names itself, for the failure note before it exists ("Slack failed to start: …"). */
  name: string;
  enabled(config: AppConfig): boolean;
  /** Printed when it is off: how to turn it on. */
  off: string;
  /** Makes it (not started); may throw a settings error, which counts as failing to start. */
  create(config: AppConfig, deps: FrontEndDeps): FrontEnd;
}

/** In start order; they stop in the reverse order. */
export const FRONT_ENDS: readonly FrontEndChoice[] = [
  {
    name: 'Playground',
    enabled: (c) => c.playground.enabled,
    off: 'Playground off (PLAYGROUND_ENABLED=false).',
    create: (c, deps) => createPlaygroundFrontEnd(playgroundConfigFrom(c), deps),
  },
  {
    name: 'Discord',
    enabled: (c) => c.discord.enabled,
    off: 'Discord not started: set DISCORD_TOKEN and DISCORD_APPLICATION_ID to run it.',
    create: (c, deps) => createDiscordFrontEnd(discordConfigFrom(c), deps),
  },
  {
    name: 'Slack',
    enabled: (c) => c.slack.enabled,
    off: 'Slack not started: set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET) to run it.',
    create: (c, deps) => createSlackFrontEnd(slackConfigFrom(c), deps),
  },
];
