// The plugin inside someone else's bot, the plugin API for other bots, and the standalone bot and its CLIs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, Events, type Interaction, type Message } from 'discord.js';
import { probeClip } from '../../inference/media/index.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { DiscordConfigError, startDiscordBot } from '../../bots/discord/index.ts';
import { createDiscordFrontEnd, DiscordNotReadyError } from '../../bots/discord/front-end.ts';
import { CodedError } from '../../shared/errors.ts';
import { startDiscordHarness, type DiscordHarness } from './emulator/harness.ts';
import { startDiscordEmulator, type EmuMessage } from './emulator/index.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

let h: DiscordHarness;
const hostEvents: string[] = [];

beforeAll(async () => {
  // The host bot reads "!clip …" prefix commands, so it asks for the Message Content intent (the plugin needs none).
  h = await startDiscordHarness({ messageContent: true });
  // The host bot's own commands live next to /animate.
  await h.client.rest.put(`/applications/${h.discord.applicationId}/guilds/${h.discord.world.guildId}/commands`, {
    body: [
      ...h.plugin.commands,
      { name: 'ping', description: 'host command' },
      { name: 'explain', description: 'host command using the plugin', options: [{ name: 'topic', description: 't', type: 3, required: true }] },
      { name: 'explain-late', description: 'host command that answers first', options: [{ name: 'topic', description: 't', type: 3, required: true }] },
    ],
  });
  h.client.on(Events.InteractionCreate, (interaction: Interaction) => {
    void (async () => {
      if (interaction.isChatInputCommand() && interaction.commandName === 'ping') {
        hostEvents.push('ping');
        await interaction.reply({
          content: 'pong',
          components: [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('host:hello').setLabel('Hello').setStyle(ButtonStyle.Primary))],
        });
      } else if (interaction.isButton() && interaction.customId === 'host:hello') {
        hostEvents.push('hello');
        await interaction.reply('hello from the host');
      } else if (interaction.isChatInputCommand() && interaction.commandName === 'explain') {
        await h.plugin.replyWithClip(interaction, interaction.options.getString('topic', true));
      } else if (interaction.isChatInputCommand() && interaction.commandName === 'explain-late') {
        await interaction.reply('Here is a clip about that:');
        await h.plugin.replyWithClip(interaction, interaction.options.getString('topic', true));
      }
    })();
  });
  h.client.on(Events.MessageCreate, (message: Message) => {
    if (message.content.startsWith('!clip ')) void h.plugin.replyWithClip(message, message.content.slice(6));
  });
});
afterAll(async () => {
  await h?.close();
});

const clipIn = (threadId: string) => h.waitForClip(threadId);
const mp4 = (m: EmuMessage) => m.attachments.find((a) => a.filename.endsWith('.mp4'))!;

describe('the plugin in a host bot', () => {
  it('leaves the host\'s own commands and buttons alone', async () => {
    const ping = h.discord.slashCommand(h.discord.users.bob, 'ping', {});
    const reply = await h.discord.waitFor(() => h.discord.originalMessage(ping), 10_000, 'pong');
    expect(ping.responseType).toBe(4);
    expect(reply.content).toBe('pong');
    const hello = h.discord.clickButton(h.discord.users.bob, reply.id, 'host:hello');
    await h.discord.waitFor(() => hello.responseType === 4, 10_000, 'the host button reply');
    expect(hostEvents).toEqual(['ping', 'hello']);
    // Nothing the plugin did was refused (a double acknowledgement would be 40060).
    expect(h.discord.requests.filter((r) => r.status >= 400)).toEqual([]);
    expect(await h.plugin.handleInteraction({ isChatInputCommand: () => false, isButton: () => true, isModalSubmit: () => false, customId: 'host:hello' } as never)).toBe(false);
  });

  it('replyWithClip(message, question) answers in a thread on the message with previews and the clip', async () => {
    const question = h.discord.postMessage(h.discord.users.alice, h.discord.generalChannelId, '!clip how does a ball bounce?');
    const threadId = await h.discord.waitFor(() => h.discord.world.messages.get(question.id)?.threadId, 30_000, 'the thread');
    const clip = await clipIn(threadId);
    expect(clip.content).toContain('**a ball bouncing**');
    const status = h.discord.messagesIn(threadId).find((m) => m.content.includes('❓ how does a ball bounce?'))!;
    expect(status.revisions.some((r) => r.attachments.some((a) => a.startsWith('preview-step')))).toBe(true);
    expect((await probeClip(mp4(clip).data)).codec).toBe('h264');
  });

  it('replyWithClip(interaction) defers an unanswered interaction and uses its reply', async () => {
    const ask = h.discord.slashCommand(h.discord.users.alice, 'explain', { topic: 'a red ball bounces' });
    const threadId = await h.discord.waitFor(() => h.discord.originalMessage(ask)?.threadId, 30_000, 'the thread');
    expect(ask.responseType).toBe(5);
    expect((await clipIn(threadId)).content).toContain('**a red ball bounces**');
  });

  it('replyWithClip(interaction) on an answered interaction works in a follow-up message', async () => {
    const ask = h.discord.slashCommand(h.discord.users.alice, 'explain-late', { topic: 'a blue cube spins' });
    const original = await h.discord.waitFor(() => h.discord.originalMessage(ask), 10_000, 'the host reply');
    const followUp = await h.discord.waitFor(
      () => h.discord.messagesIn(h.discord.generalChannelId).find((m) => m.webhookId && m.id !== original.id && m.content.includes('a blue cube spins') && m.threadId),
      30_000,
      'the follow-up with a thread',
    );
    expect(original.content).toBe('Here is a clip about that:');
    expect((await clipIn(followUp.threadId!)).content).toContain('**a blue cube spins**');
  });
});

describe('startDiscordBot', () => {
  it('stops with a message naming DISCORD_TOKEN when it is missing', async () => {
    await expect(startDiscordBot({ token: undefined }, { core: h.core })).rejects.toThrow(DiscordConfigError);
    await expect(startDiscordBot({ token: '  ' }, { core: h.core })).rejects.toThrow(/DISCORD_TOKEN/);
  });

  it('logs in through the configured REST and gateway URLs, registers /animate and animates', async () => {
    // /gateway/bot advertises a dead URL: only DISCORD_GATEWAY_URL can get the bot connected.
    const discord = await startDiscordEmulator({ advertisedGatewayUrl: 'ws://127.0.0.1:9/gateway' });
    try {
      const bot = await startDiscordBot(
        { token: discord.token, applicationId: discord.applicationId, guildId: discord.world.guildId, apiUrl: discord.apiUrl, gatewayUrl: discord.gatewayUrl },
        { core: h.core, registerCommands: true, logger: silentLogger },
      );
      try {
        expect(discord.world.commands.map((c) => [c.name, c.guildId])).toEqual([['animate', discord.world.guildId]]);
        const interaction = discord.slashCommand(discord.users.alice, 'animate', { prompt: 'a standalone ball', seed: 1, steps: 2 });
        const threadId = await discord.waitFor(() => discord.originalMessage(interaction)?.threadId, 30_000, 'the thread');
        const clip = await discord.waitFor(() => discord.messagesIn(threadId).find((m) => m.attachments.some((a) => a.filename.endsWith('.mp4'))), 30_000, 'the clip');
        expect(clip.content).toContain('seed **1**');
      } finally {
        await bot.stop();
      }
    } finally {
      await discord.close();
    }
  });
});

describe('a start that fails cleans up', () => {
  it('a failure after login (registering in an unknown guild) logs out, and the front-end\'s stop() is safe after it', async () => {
    const discord = await startDiscordEmulator();
    try {
      const config = { token: discord.token, applicationId: discord.applicationId, guildId: '123456789', apiUrl: discord.apiUrl, gatewayUrl: discord.gatewayUrl };
      await expect(startDiscordBot(config, { core: h.core, registerCommands: true, logger: silentLogger })).rejects.toThrow(/Unknown Guild/);
      // The client was logged in (READY came) and is now gone: no gateway connection is left open.
      await discord.waitFor(() => discord.gateway.connectionCount === 0, 5000, 'the logout');
      const frontEnd = createDiscordFrontEnd({ ...config, token: 'not-the-token' }, { core: h.core, logger: silentLogger });
      await expect(frontEnd.start()).rejects.toThrow();
      await expect(frontEnd.stop()).resolves.toBeUndefined();
      // The shared core is the caller's: still open for the other front-ends.
      expect((await h.core.models())?.models.length).toBeGreaterThan(0);
    } finally {
      await discord.close();
    }
  });

  it('a gateway that never says READY fails the start with DISCORD_NOT_READY after readyTimeoutMs', async () => {
    const discord = await startDiscordEmulator();
    // Accepts the socket and says nothing (no HELLO, no READY). Left open until the file ends: discord.js keeps
    // reconnecting a shard destroyed while it waits for HELLO (see DESTROY_WAIT_MS), quietly while HELLO is awaited.
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    await new Promise<void>((resolve) => silent.once('listening', () => resolve()));
    try {
      const { port } = silent.address() as AddressInfo;
      const config = { token: discord.token, applicationId: discord.applicationId, apiUrl: discord.apiUrl, gatewayUrl: `ws://127.0.0.1:${port}` };
      const started = Date.now();
      const failure = await startDiscordBot(config, { core: h.core, logger: silentLogger, readyTimeoutMs: 1500 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DiscordNotReadyError);
      expect(failure).toMatchObject({ code: 'DISCORD_NOT_READY', message: expect.stringContaining('did not say READY within 2 s') });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await discord.close();
    }
  });

  it('config errors are CodedErrors with an UPPER_SNAKE code', async () => {
    const failure = await startDiscordBot({ token: undefined }, { core: h.core }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CodedError);
    expect(failure).toMatchObject({ code: 'INVALID_DISCORD_SETTING', name: 'DiscordConfigError' });
  });
});

describe('command-line entries', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'animate-discord-cli-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };

  it('npm run bot:discord without DISCORD_TOKEN exits 2 naming the variable', async () => {
    const result = await run(tsx, [path.join(root, 'bots/discord/main.ts')], { cwd, env: baseEnv }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DISCORD_TOKEN is not set');
  });

  it('npm run discord:register registers /animate in the guild through DISCORD_API_URL', async () => {
    const discord = await startDiscordEmulator();
    try {
      const { stdout } = await run(tsx, [path.join(root, 'bots/discord/main.ts'), 'register'], {
        cwd,
        env: { ...baseEnv, DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_GUILD_ID: discord.world.guildId, DISCORD_API_URL: discord.apiUrl },
      });
      const command = discord.world.commands[0]!;
      expect(stdout.trim()).toBe(`Registered /animate (${command.id}) in guild ${discord.world.guildId}.`);
      expect(command.options.map((o) => o.name)).toEqual(['prompt', 'negative', 'seed', 'steps', 'guidance', 'duration', 'frames', 'aspect', 'fps', 'variants', 'model', 'style', 'style_strength', 'image']);
    } finally {
      await discord.close();
    }
  });
});
