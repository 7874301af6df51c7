// The Message Content intent is opt-in (DISCORD_MESSAGE_CONTENT): the real discord.js client against the emulator,
// whose gateway closes with 4014 (disallowed intents) when the intent is asked for and the portal toggle is off, as
// Discord does. By default the bot does not ask for it and logs in; asked for and refused, start-up fails with one
// error naming the setting and the toggle, and leaves no connection open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayIntentBits } from 'discord.js';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { discordConfigFrom } from '../../bots/discord/config.ts';
import { startDiscordBot } from '../../bots/discord/front-end.ts';
import { DiscordIntentsError } from '../../bots/discord/intents.ts';
import { loadConfig } from '../../shared/config/index.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { startDiscordEmulator, type DiscordEmulator } from './emulator/index.ts';

let fx: FixtureDaemon;
let core: BotCore;
let discord: DiscordEmulator;

beforeAll(async () => {
  fx = await startFixtureDaemon();
  core = createBotCore({ connection: fx.client, logger: silentLogger });
  // The application's Message Content toggle is off.
  discord = await startDiscordEmulator({ messageContentAllowed: false });
});
afterAll(async () => {
  await core?.close();
  await discord?.close();
  await fx?.close();
});

const settings = (extra: Record<string, string> = {}) =>
  discordConfigFrom(loadConfig({ DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl, ...extra }, [], { dotenv: false }));

describe('DISCORD_MESSAGE_CONTENT', () => {
  it('is off by default: the bot asks for Guilds and GuildMessages only, and logs in', async () => {
    const config = settings();
    expect(config.messageContent).toBe(false);
    const bot = await startDiscordBot(config, { core, logger: silentLogger, readyTimeoutMs: 30_000 });
    try {
      expect(discord.gateway.lastIntents).toBe(GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages);
      expect(bot.client.user?.id).toBe(discord.applicationId);
    } finally {
      await bot.stop();
    }
  });

  it('=true while the portal toggle is off: one start-up error naming the setting and the toggle (4014), nothing left open', async () => {
    const config = settings({ DISCORD_MESSAGE_CONTENT: 'true' });
    expect(config.messageContent).toBe(true);
    const started = Date.now();
    const error = await startDiscordBot(config, { core, logger: silentLogger, readyTimeoutMs: 30_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    console.log(`4014 reported after ${Date.now() - started} ms: ${(error as Error).message}`);
    expect(error).toBeInstanceOf(DiscordIntentsError);
    expect((error as DiscordIntentsError).code).toBe('DISCORD_DISALLOWED_INTENTS');
    expect((error as Error).message).toBe(
      'Discord refused to log in: the bot asks for the Message Content intent (DISCORD_MESSAGE_CONTENT=true) but it is not enabled ' +
        'for this application (gateway close code 4014, disallowed intents). Either turn it on (Developer Portal → your application → ' +
        'Bot → Privileged Gateway Intents → Message Content Intent), or unset DISCORD_MESSAGE_CONTENT (default false): the bot then ' +
        'works without it, and refinement in a thread is by @mentioning the bot.',
    );
    expect(discord.gateway.lastIntents & GatewayIntentBits.MessageContent).toBe(GatewayIntentBits.MessageContent);
    // Well before the READY timeout: the refusal is final, not waited out.
    expect(Date.now() - started).toBeLessThan(30_000);
    await discord.waitFor(() => discord.gateway.connectionCount === 0, 10_000, 'the gateway connection closed');
  });

  it('rejects a value that is not a boolean, naming the variable', () => {
    expect(() => settings({ DISCORD_MESSAGE_CONTENT: 'maybe' })).toThrow(/DISCORD_MESSAGE_CONTENT/);
  });
});
