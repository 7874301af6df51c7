// Test harness: the Discord emulator + a real daemon with fixture models + the bot core + the real discord.js
// client running the animate plugin. Only the Discord network edge is emulated.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Events } from 'discord.js';
import { createBotCore, type BotCore, type BotCoreOptions } from '../../../bots/core/bot.ts';
import type { Clock, TimerHandle } from '../../../bots/core/clock.ts';
import { silentLogger } from '../../../bots/core/logger.ts';
import { createAnimatePlugin, registerCommands, type AnimatePlugin, type AnimatePluginOptions } from '../../../bots/discord/index.ts';
import { gatewayIntents } from '../../../bots/discord/intents.ts';
import { buildFixturePackage } from '../../fixtures/fixture-model.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../../helpers/fixture-daemon.ts';
import type { DaemonOptions } from '../../../inference/server/daemon.ts';
import type { AnimatorConnection } from '../../../shared/rpc/client.ts';
import { startDiscordEmulator, type DiscordEmulator, type EmuMessage, type EmuUser, type InteractionInit, type SlashOptionValue } from './index.ts';

/** Real time plus an offset the test can jump forward (interaction tokens expire by this clock on both sides). */
export class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer as unknown as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  }
}

export interface HarnessOptions {
  daemon?: DaemonOptions;
  /** Burn per denoiser call of the "slow" model, in ms on this machine (jobs long enough to cancel or expire). Default 80. */
  slowBurnMs?: number;
  plugin?: Partial<Omit<AnimatePluginOptions, 'client' | 'core'>>;
  core?: Partial<BotCoreOptions>;
  emulatorUploadLimitBytes?: number;
  /** The client asks for the Message Content intent (a host bot with prefix commands needs it). Default false. */
  messageContent?: boolean;
  /** Wraps the daemon connection the core uses (e.g. to record the GenerateRequests it sends). */
  wrapConnection?: (connection: AnimatorConnection) => AnimatorConnection;
}

export interface DiscordHarness {
  discord: DiscordEmulator;
  fx: FixtureDaemon;
  core: BotCore;
  client: Client;
  plugin: AnimatePlugin;
  clock: OffsetClock;
  slash(user: EmuUser, options: Record<string, SlashOptionValue>, init?: InteractionInit): ReturnType<DiscordEmulator['slashCommand']>;
  /** The first message in `channelId` with an attachment named *.mp4/.gif/.webp that is not a preview. */
  waitForClip(channelId: string, match?: (m: EmuMessage) => boolean, timeoutMs?: number): Promise<EmuMessage>;
  close(): Promise<void>;
}

export const isClipMessage = (m: EmuMessage) => m.attachments.some((a) => !a.filename.startsWith('preview') && /\.(mp4|gif|webp)$/.test(a.filename));

export async function startDiscordHarness(options: HarnessOptions = {}): Promise<DiscordHarness> {
  const clock = new OffsetClock();
  const slowDir = await mkdtemp(path.join(os.tmpdir(), 'animate-discord-slow-'));
  await buildFixturePackage(path.join(slowDir, 'slow'), { name: 'slow', burnMs: options.slowBurnMs ?? 80 });
  const fx = await startFixtureDaemon({ daemon: { modelDirs: [path.join(slowDir, 'slow')], concurrency: 2, ...options.daemon } });
  const discord = await startDiscordEmulator({ clock, ...(options.emulatorUploadLimitBytes ? { uploadLimitBytes: options.emulatorUploadLimitBytes } : {}) });
  const core = createBotCore({ connection: options.wrapConnection ? options.wrapConnection(fx.client) : fx.client, clock, logger: silentLogger, limits: { perUserConcurrent: 16, perUserPerWindow: 0 }, ...options.core });
  const client = new Client({
    // The bot's default intents, without Message Content (DISCORD_MESSAGE_CONTENT=false): the emulator then blanks
    // the text of messages that do not mention the bot, as Discord does, so every test here runs as a bot without it.
    intents: gatewayIntents(options.messageContent ?? false),
    rest: { api: discord.apiUrl },
  });
  // Attached images come from the emulator's CDN (plain http on loopback), as they come from cdn.discordapp.com.
  const imageHosts = [new URL(discord.baseUrl).host];
  const plugin = createAnimatePlugin({ client, core, clock, logger: silentLogger, updateIntervalMs: 300, imageHosts, allowHttpImages: true, ...options.plugin }).attach();
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(discord.token);
  await ready;
  await registerCommands({ token: discord.token, applicationId: discord.applicationId, guildId: discord.world.guildId, apiUrl: discord.apiUrl });

  return {
    discord,
    fx,
    core,
    client,
    plugin,
    clock,
    slash: (user, values, init) => discord.slashCommand(user, 'animate', values, init),
    waitForClip: (channelId, match = () => true, timeoutMs = 60_000) =>
      discord.waitFor(() => discord.messagesIn(channelId).find((m) => isClipMessage(m) && match(m)), timeoutMs, `a clip in ${channelId}`),
    async close() {
      plugin.detach();
      await core.close();
      await client.destroy();
      await discord.close();
      await fx.close();
      await rm(slowDir, { recursive: true, force: true });
    },
  };
}
