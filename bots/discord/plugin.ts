// The Discord front-end as a plugin: mounts /animate, its buttons and modal, thread follow-ups and @mention Q&A
// into an existing discord.js Client, handling only what is ours (the command name, `animate:` custom ids,
// messages that address the bot) and leaving every other handler of the host bot alone.
import {
  ActionRowBuilder,
  Events,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  type Interaction,
  type Message,
  type ModalSubmitInteraction,
  type RepliableInteraction,
  type SendableChannels,
} from 'discord.js';
import { z } from 'zod';
import type { ChatAdapter, Requester } from '../core/adapter.ts';
import { createBotCore, type AnimateResult, type BotCore, type BotCoreOptions } from '../core/bot.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { BotError, PlatformError, toBotError } from '../core/errors.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { parseStructuredOptions } from '../core/options.ts';
import { animateCommand, DEFAULT_COMMAND_NAME, readAnimateOptions } from './commands.ts';
import { parseCustomId, REFINE_PROMPT_FIELD, refineModalId } from './custom-ids.ts';
import type { ClipLinker } from './fit-clip.ts';
import { failureText, truncate } from './format.ts';
import { ChannelStatus, InteractionStatus, type StatusMessage } from './status-message.ts';
import { DiscordJobSurface, type DiscordSurfaceShared } from './surface.ts';
import { isThreadParent, openThreadOn, threadName, ThreadHost, type ClipPlace } from './thread-host.ts';
import { requesterFromInteraction, requesterFromMessage } from './requester.ts';

export const DEFAULT_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/**
 * One edit of a message per 1.2 s stays inside Discord's per-message edit budget (about 5 per 5 s), leaving room
 * for the final message; previews ride on these edits.
 */
export const DEFAULT_UPDATE_INTERVAL_MS = 1200;

const pluginOptionsSchema = z.object({
  commandName: z.string().regex(/^[-_a-z0-9]{1,32}$/, { error: 'commandName must be 1–32 lower-case letters, digits, - or _' }).default(DEFAULT_COMMAND_NAME),
  updateIntervalMs: z.number().int().min(250, { error: 'updateIntervalMs must be at least 250 ms (Discord rate-limits faster edits)' }).default(DEFAULT_UPDATE_INTERVAL_MS),
  defaultUploadLimitBytes: z.number().int().min(1024, { error: 'defaultUploadLimitBytes must be at least 1024' }).default(DEFAULT_UPLOAD_LIMIT_BYTES),
  previewMaxSide: z.number().int().min(32).max(512, { error: 'previewMaxSide must be from 32 to 512' }).default(256),
  previewFormat: z.enum(['webp', 'gif'], { error: 'previewFormat must be webp or gif' }).default('webp'),
  mentions: z.boolean().default(true),
});

export interface AnimatePluginOptions {
  /** The host bot's client (needs the Guilds intent; GuildMessages + MessageContent for follow-ups and Q&A). */
  client: Client;
  /** A core to share; or `daemon` to make one. */
  core?: BotCore;
  daemon?: { address: string; token?: string | undefined; tls?: BotCoreOptions['tls'] };
  /** Extra options when the core is made here. */
  coreOptions?: Omit<BotCoreOptions, 'connection' | 'daemonAddress' | 'token' | 'tls'>;
  /** Slash command name. Default "animate". */
  commandName?: string;
  /** Minimum time between edits of one job's message. Default 1200 ms. */
  updateIntervalMs?: number;
  /** Upload limit when an interaction reports none (messages, plugin calls). Default 10 MiB. */
  defaultUploadLimitBytes?: number;
  /** Longest side of previews, 32..512. Default 256. */
  previewMaxSide?: number;
  previewFormat?: 'webp' | 'gif';
  /** Answer @mentions (Q&A) and thread follow-ups. Default true. */
  mentions?: boolean;
  /** Publishes clips that no re-encoding fits under the upload limit. */
  linker?: ClipLinker;
  clock?: Clock;
  logger?: Logger;
}

export interface ReplyWithClipOptions {
  /** Who the clip is for (default: the message author / the interaction user). */
  requester?: Requester;
}

export interface AnimatePlugin {
  readonly core: BotCore;
  readonly adapter: ChatAdapter;
  readonly commandName: string;
  /** The command definitions to register (see registerCommands). */
  readonly commands: ReturnType<typeof animateCommand>[];
  /** Starts listening on the client. Idempotent. */
  attach(): AnimatePlugin;
  /** Stops listening; running jobs carry on. */
  detach(): void;
  /**
   * For other bots: answers `target` (a message, or an interaction not yet answered or already answered) with a
   * clip of `prompt` (a question works too), with the same live previews and thread as /animate.
   */
  replyWithClip(target: Message | RepliableInteraction, prompt: string, options?: ReplyWithClipOptions): Promise<AnimateResult>;
  /** The handlers attach() installs, for hosts that route events themselves. Resolve true when the event was ours. */
  handleInteraction(interaction: Interaction): Promise<boolean>;
  handleMessage(message: Message): Promise<boolean>;
  /** Detaches, and closes the core if the plugin made it. */
  close(): Promise<void>;
}

export function createAnimatePlugin(options: AnimatePluginOptions): AnimatePlugin {
  const parsed = pluginOptionsSchema.safeParse({
    commandName: options.commandName,
    updateIntervalMs: options.updateIntervalMs,
    defaultUploadLimitBytes: options.defaultUploadLimitBytes,
    previewMaxSide: options.previewMaxSide,
    previewFormat: options.previewFormat,
    mentions: options.mentions,
  });
  if (!parsed.success) throw new TypeError(`createAnimatePlugin: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const settings = parsed.data;
  const { client } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger('[discord]');
  let core = options.core;
  const ownsCore = !core;
  if (!core) {
    if (!options.daemon) throw new TypeError('createAnimatePlugin needs `core` or `daemon: { address }`');
    core = createBotCore({ daemonAddress: options.daemon.address, token: options.daemon.token, tls: options.daemon.tls, clock, logger, ...options.coreOptions });
  }
  const botCore = core;

  const adapter: ChatAdapter = {
    platform: 'discord',
    limits: { minUpdateIntervalMs: settings.updateIntervalMs, maxUploadBytes: settings.defaultUploadLimitBytes },
    clipFormats: ['mp4'],
    previewFormat: settings.previewFormat,
    previewMaxSide: settings.previewMaxSide,
  };
  const shared: DiscordSurfaceShared = { adapter, logger, clock, linker: options.linker, linkThread: (threadId, jobId) => botCore.linkThread(threadId, jobId) };

  const uploadLimitOf = (interaction?: RepliableInteraction) => interaction?.attachmentSizeLimit || settings.defaultUploadLimitBytes;

  async function channelOf(interaction: RepliableInteraction): Promise<SendableChannels | undefined> {
    const channel = interaction.channel ?? (interaction.channelId ? await client.channels.fetch(interaction.channelId).catch(() => null) : null);
    return channel && channel.isSendable() ? channel : undefined;
  }

  /** Where the clips of a job started by an interaction go: its thread, or a new thread on its reply. */
  async function hostForInteraction(interaction: RepliableInteraction, status: StatusMessage, prompt: string): Promise<{ host: ThreadHost; threadId?: string }> {
    const channel = await channelOf(interaction);
    if (channel?.isThread()) return { host: ThreadHost.fixed({ channel, isThread: true }), threadId: channel.id };
    if (channel && isThreadParent(channel)) {
      const replyId = async () => status.messageId ?? (await interaction.fetchReply()).id;
      return { host: new ThreadHost(() => openThreadOn(channel, replyId, threadName(prompt), logger)) };
    }
    if (channel) return { host: ThreadHost.fixed({ channel, isThread: false }) };
    return { host: new ThreadHost(async () => { throw new PlatformError('I cannot see this channel, so I cannot post the clip in it.', 'no_channel'); }) };
  }

  async function surfaceForInteraction(interaction: RepliableInteraction, prompt: string, receivedAt: number, mode: 'original' | 'follow-up') {
    const status = new InteractionStatus(interaction, clock, logger, receivedAt, mode);
    const { host, threadId } = await hostForInteraction(interaction, status, prompt);
    return new DiscordJobSurface(shared, { status, host, uploadLimitBytes: uploadLimitOf(interaction), threadId });
  }

  /** A message-anchored job (Q&A, plugin calls): a thread on the person's message, the status inside it. */
  async function surfaceForMessage(message: Message, prompt: string) {
    const channel = message.channel;
    let place: ClipPlace;
    if (channel.isThread()) place = { channel, isThread: true };
    else if (isThreadParent(channel)) place = await openThreadOn(channel, async () => message.id, threadName(prompt), logger);
    else if (channel.isSendable()) place = { channel, isThread: false };
    else throw new PlatformError('I cannot post in this channel.', 'not_sendable');
    const inThread = place.isThread && place.channel.id !== message.channelId;
    const status = new ChannelStatus(place.channel, logger, inThread ? {} : { replyTo: message });
    return new DiscordJobSurface(shared, {
      status,
      host: ThreadHost.fixed(place),
      uploadLimitBytes: settings.defaultUploadLimitBytes,
      threadId: place.isThread ? place.channel.id : undefined,
    });
  }

  async function tellActor(interaction: RepliableInteraction, error: unknown): Promise<void> {
    const text = failureText(toBotError(error));
    try {
      if (interaction.deferred || interaction.replied) await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral });
      else await interaction.reply({ content: text, flags: MessageFlags.Ephemeral });
    } catch (again) {
      logger.warn(`could not tell ${interaction.user.id} about an error`, again);
    }
  }

  async function onAnimate(interaction: ChatInputCommandInteraction): Promise<void> {
    const receivedAt = clock.now();
    // Discord wants an answer within 3 s: defer before any other work.
    await interaction.deferReply();
    const record = readAnimateOptions(interaction);
    const prompt = typeof record['prompt'] === 'string' ? record['prompt'] : '';
    if (/^\s*(help|\?)\s*$/i.test(prompt)) {
      const text = await botCore.help(`/${settings.commandName}`);
      await interaction.editReply({ content: truncate(`\`\`\`\n${text.replace(/```/g, "'''")}\n\`\`\``, 2000) });
      return;
    }
    const surface = await surfaceForInteraction(interaction, prompt, receivedAt, 'original');
    const requester = requesterFromInteraction(interaction);
    let animateOptions;
    try {
      animateOptions = parseStructuredOptions(record);
    } catch (error) {
      await surface.fail(toBotError(error));
      return;
    }
    const perms = interaction.appPermissions;
    if (perms && !perms.has(PermissionFlagsBits.AttachFiles)) {
      await surface.fail(new PlatformError('I need the **Attach Files** permission in this channel to post previews and clips. Ask a server admin to grant it, then try again.', 'missing_attach_files'));
      return;
    }
    await botCore.animate(surface, requester, animateOptions, { requestId: `discord-${interaction.id}` });
  }

  async function onButton(interaction: ButtonInteraction, action: 'cancel' | 'reroll' | 'variations' | 'refine', jobId: string): Promise<void> {
    if (action === 'refine') {
      const job = botCore.jobs.get(jobId, clock.now());
      if (!job) {
        await tellActor(interaction, new BotError('unknown_job', 'The bot no longer remembers that clip (it may have restarted). Start a new /animate.'));
        return;
      }
      const prompt = job.result?.prompt ?? job.options.prompt;
      const modal = new ModalBuilder()
        .setCustomId(refineModalId(jobId))
        .setTitle('Refine the clip')
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder().setCustomId(REFINE_PROMPT_FIELD).setLabel('Prompt').setStyle(TextInputStyle.Paragraph).setValue(prompt.slice(0, 4000)).setRequired(true).setMaxLength(2000),
          ),
        );
      await interaction.showModal(modal);
      return;
    }
    await interaction.deferUpdate();
    const actor = requesterFromInteraction(interaction);
    try {
      const kind = action;
      await botCore.action(jobId, { kind }, actor);
    } catch (error) {
      await tellActor(interaction, error);
    }
  }

  async function onRefineModal(interaction: ModalSubmitInteraction, jobId: string): Promise<void> {
    if (interaction.isFromMessage()) await interaction.deferUpdate();
    else await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const prompt = interaction.fields.getTextInputValue(REFINE_PROMPT_FIELD);
    try {
      await botCore.action(jobId, { kind: 'refine', prompt }, requesterFromInteraction(interaction));
    } catch (error) {
      await tellActor(interaction, error);
    }
  }

  async function handleInteraction(interaction: Interaction): Promise<boolean> {
    try {
      if (interaction.isChatInputCommand()) {
        if (interaction.commandName !== settings.commandName) return false;
        await onAnimate(interaction);
        return true;
      }
      if (interaction.isButton()) {
        const id = parseCustomId(interaction.customId);
        if (id?.kind !== 'button') return false;
        await onButton(interaction, id.action, id.jobId);
        return true;
      }
      if (interaction.isModalSubmit()) {
        const id = parseCustomId(interaction.customId);
        if (id?.kind !== 'refine-modal') return false;
        await onRefineModal(interaction, id.jobId);
        return true;
      }
    } catch (error) {
      logger.error(`discord: handling interaction ${interaction.id} failed`, error);
      if (interaction.isRepliable()) await tellActor(interaction, error);
      return true;
    }
    return false;
  }

  /** The text of a message addressed to the bot, without the mention; undefined when not addressed to it. */
  function addressedText(message: Message): string | undefined {
    const me = client.user;
    if (!me) return undefined;
    const mentioned = message.mentions.users.has(me.id);
    const repliedToMe = message.mentions.repliedUser?.id === me.id;
    if (!mentioned && !repliedToMe) return undefined;
    return message.content.replace(new RegExp(`<@!?${me.id}>`, 'g'), ' ').replace(/\s+/g, ' ').trim();
  }

  async function handleMessage(message: Message): Promise<boolean> {
    if (!settings.mentions || message.author.bot || message.webhookId || message.system) return false;
    const text = addressedText(message);
    if (text === undefined) return false;
    try {
      const requester = requesterFromMessage(message);
      if (message.channel.isThread() && botCore.conversations.get(message.channel.id)) {
        if (!text) return true;
        const status = new ChannelStatus(message.channel, logger, { replyTo: message });
        const surface = new DiscordJobSurface(shared, {
          status,
          host: ThreadHost.fixed({ channel: message.channel, isThread: true }),
          uploadLimitBytes: settings.defaultUploadLimitBytes,
          threadId: message.channel.id,
        });
        const result = await botCore.followUp(message.channel.id, text, requester, surface);
        if (result) return true;
      }
      if (!text || /^(help|\?)$/i.test(text)) {
        const help = await botCore.help(`/${settings.commandName}`);
        await message.reply({ content: truncate(`Ask me a question or describe a scene, e.g. "@me how does a ball bounce?"\n\`\`\`\n${help.replace(/```/g, "'''")}\n\`\`\``, 2000), allowedMentions: { parse: [] } });
        return true;
      }
      const surface = await surfaceForMessage(message, text);
      await botCore.ask(surface, text, requester, { requestId: `discord-${message.id}` });
    } catch (error) {
      logger.error(`discord: handling message ${message.id} failed`, error);
      await message
        .reply({ content: failureText(toBotError(error)), allowedMentions: { parse: [] } })
        .catch((again: unknown) => logger.warn('could not report the failure', again));
    }
    return true;
  }

  async function replyWithClip(target: Message | RepliableInteraction, prompt: string, opts: ReplyWithClipOptions = {}): Promise<AnimateResult> {
    if ('author' in target) {
      const surface = await surfaceForMessage(target, prompt);
      return botCore.ask(surface, prompt, opts.requester ?? requesterFromMessage(target), { requestId: `discord-plugin-${target.id}` });
    }
    const receivedAt = clock.now();
    const answered = target.deferred || target.replied;
    if (!answered) await target.deferReply();
    const surface = await surfaceForInteraction(target, prompt, receivedAt, answered ? 'follow-up' : 'original');
    return botCore.ask(surface, prompt, opts.requester ?? requesterFromInteraction(target), { requestId: `discord-plugin-${target.id}` });
  }

  const onInteractionEvent = (interaction: Interaction) => void handleInteraction(interaction);
  const onMessageEvent = (message: Message) => void handleMessage(message);
  let attached = false;

  const plugin: AnimatePlugin = {
    core: botCore,
    adapter,
    commandName: settings.commandName,
    commands: [animateCommand(settings.commandName)],
    attach() {
      if (!attached) {
        client.on(Events.InteractionCreate, onInteractionEvent);
        client.on(Events.MessageCreate, onMessageEvent);
        attached = true;
      }
      return plugin;
    },
    detach() {
      client.off(Events.InteractionCreate, onInteractionEvent);
      client.off(Events.MessageCreate, onMessageEvent);
      attached = false;
    },
    replyWithClip,
    handleInteraction,
    handleMessage,
    async close() {
      plugin.detach();
      if (ownsCore) await botCore.close();
    },
  };
  return plugin;
}

