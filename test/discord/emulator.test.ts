// The Discord emulator against the real discord.js client: the gateway handshake, interactions, webhook edits with
// files, threads, 429 handling, expired interaction tokens and permissions. The bot tests build on these behaviours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentBuilder, Client, DiscordAPIError, Events, GatewayIntentBits, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import { PermissionFlagsBits, startDiscordEmulator, type DiscordEmulator } from './emulator/index.ts';

let discord: DiscordEmulator;
let client: Client;
const clock = { t: Date.now(), now() { return this.t; } };

function nextInteraction<T extends Interaction>(filter: (i: Interaction) => i is T): Promise<T> {
  return new Promise((resolve) => {
    const listener = (i: Interaction) => {
      if (!filter(i)) return;
      client.off(Events.InteractionCreate, listener);
      resolve(i);
    };
    client.on(Events.InteractionCreate, listener);
  });
}
const isChatInput = (i: Interaction): i is ChatInputCommandInteraction => i.isChatInputCommand();

beforeAll(async () => {
  discord = await startDiscordEmulator({ clock });
  client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    rest: { api: discord.apiUrl, retries: 1 },
  });
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(discord.token);
  await ready;
  await client.rest.put(`/applications/${discord.applicationId}/guilds/${discord.world.guildId}/commands`, {
    body: [{ name: 'echo', description: 'echo', options: [{ name: 'text', description: 't', type: 3, required: true }, { name: 'n', description: 'n', type: 10 }] }],
  });
});

afterAll(async () => {
  await client?.destroy();
  await discord?.close();
});

describe('Discord emulator with the real discord.js client', () => {
  it('completes the gateway handshake and exposes the guild, channel and application', () => {
    expect(client.user?.id).toBe(discord.applicationId);
    expect(client.guilds.cache.get(discord.world.guildId)?.name).toBe('Emulated Guild');
    expect(client.channels.cache.get(discord.generalChannelId)?.isTextBased()).toBe(true);
    const identify = discord.gateway.received.find((p) => p.op === 2)?.d as { intents: number };
    expect(identify.intents & GatewayIntentBits.MessageContent).toBe(GatewayIntentBits.MessageContent);
  });

  it('delivers a slash command with typed options; defer, edit with a file, thread, follow-up', async () => {
    const received = nextInteraction(isChatInput);
    const emu = discord.slashCommand(discord.users.alice, 'echo', { text: 'hello', n: 7 });
    const interaction = await received;
    expect(interaction.options.getString('text')).toBe('hello');
    expect(interaction.options.getNumber('n')).toBe(7);
    expect(interaction.attachmentSizeLimit).toBe(10 * 1024 * 1024);
    await interaction.deferReply();
    const edited = await interaction.editReply({ content: 'done', files: [new AttachmentBuilder(Buffer.from('GIF89a-data'), { name: 'a.gif' })] });
    expect(edited.attachments.first()?.name).toBe('a.gif');
    const original = discord.originalMessage(emu);
    expect(original?.attachments[0]?.data.toString()).toBe('GIF89a-data');
    expect(original?.revisions.map((r) => r.content)).toEqual(['', 'done']);
    const thread = await edited.startThread({ name: 'echo thread' });
    expect(thread.id).toBe(edited.id);
    await thread.send('in the thread');
    expect(discord.messagesIn(thread.id).map((m) => m.content)).toEqual(['in the thread']);
    const followUp = await interaction.followUp('a follow-up');
    expect(discord.world.messages.get(followUp.id)?.webhookId).toBe(discord.applicationId);
  });

  it('answers 429 with retry_after, and discord.js waits and retries', async () => {
    const sent = (await client.channels.fetch(discord.generalChannelId)) as import('discord.js').TextChannel;
    discord.rateLimit({ method: 'POST', path: /^\/channels\/\d+\/messages$/, times: 1, retryAfterSeconds: 0.4 });
    const started = Date.now();
    const message = await sent.send('after a 429');
    const elapsed = Date.now() - started;
    const attempts = discord.requests.filter((r) => r.method === 'POST' && r.body?.['content'] === 'after a 429');
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(message.content).toBe('after a 429');
  });

  it('expires interaction tokens after 15 minutes (401, code 50027) and enforces the 3 s acknowledgement', async () => {
    const late = nextInteraction(isChatInput);
    discord.slashCommand(discord.users.bob, 'echo', { text: 'late' });
    const lateInteraction = await late;
    clock.t += 3_500;
    await expect(lateInteraction.deferReply()).rejects.toMatchObject({ code: 10062 });

    const received = nextInteraction(isChatInput);
    discord.slashCommand(discord.users.bob, 'echo', { text: 'x' });
    const interaction = await received;
    await interaction.deferReply();
    clock.t += 15 * 60 * 1000 + 1;
    const error = await interaction.editReply('too late').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).status).toBe(401);
    expect((error as DiscordAPIError).code).toBe(50027);
    // The bot token still works after an interaction token failed.
    const channel = (await client.channels.fetch(discord.generalChannelId)) as import('discord.js').TextChannel;
    await expect(channel.send('still here')).resolves.toMatchObject({ content: 'still here' });
  });

  it('refuses uploads over the limit (413, code 40005) and missing permissions (403, code 50013)', async () => {
    const channel = (await client.channels.fetch(discord.generalChannelId)) as import('discord.js').TextChannel;
    const big = Buffer.alloc(10 * 1024 * 1024 + 1);
    await expect(channel.send({ files: [new AttachmentBuilder(big, { name: 'big.mp4' })] })).rejects.toMatchObject({ status: 413, code: 40005 });
    discord.denyBotPermissions(PermissionFlagsBits.AttachFiles, discord.generalChannelId);
    await expect(channel.send({ files: [new AttachmentBuilder(Buffer.from('x'), { name: 'x.gif' })] })).rejects.toMatchObject({ status: 403, code: 50013 });
    await discord.waitFor(() => !client.guilds.cache.get(discord.world.guildId)?.members.me?.permissionsIn(discord.generalChannelId).has(PermissionFlagsBits.AttachFiles), 5000, 'the overwrite to reach discord.js');
  });
});
