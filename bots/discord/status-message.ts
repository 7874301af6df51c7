// The one message where a job shows its life (queue position, progress bar, preview), and how it stays editable:
// through the interaction's webhook while its token lives (15 minutes), then through the bot token, and when the
// message cannot be edited at all any more, as a new message in the channel. A job never goes quiet because a
// token expired.
import {
  MessageFlags,
  type ActionRowBuilder,
  type AttachmentBuilder,
  type ButtonBuilder,
  type Message,
  type MessageCreateOptions,
  type MessageEditOptions,
  type RepliableInteraction,
  type SendableChannels,
} from 'discord.js';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { apiCode, DiscordCode, isExpiredToken } from './errors.ts';

/** Discord keeps interaction tokens for 15 minutes. */
export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
/** Stop using a token a little before it dies, so an edit in flight does not race the deadline. */
export const TOKEN_SAFETY_MARGIN_MS = 30_000;

export interface StatusPayload {
  content: string;
  components: ActionRowBuilder<ButtonBuilder>[];
  /** undefined keeps the message's current files; [] removes them; otherwise they replace them. */
  files?: AttachmentBuilder[] | undefined;
  /** User ids this message may ping (default none: edits never ping). */
  ping?: string[];
}

export interface StatusMessage {
  /** Where the message lives (a channel or thread id). */
  readonly channelId: string;
  readonly messageId: string | undefined;
  /** Creates or edits the message; resolves with the message as Discord stored it. */
  show(payload: StatusPayload): Promise<Message>;
  /** True while the interaction token is still in use (false for bot-token messages). */
  readonly viaInteraction: boolean;
  /**
   * Takes the message out of the channel and says `content` to the interaction's user alone (ephemeral). Resolves
   * false when this message cannot do that (a bot-token message has no one to whisper to). Only interaction replies.
   */
  replaceWithPrivate?(content: string): Promise<boolean>;
  /** From now on logs through `logger` (the surface's, with the jobId once the job is accepted). */
  useLogger(logger: Logger): void;
}

function editOptions(payload: StatusPayload): MessageEditOptions {
  return {
    content: payload.content,
    components: payload.components,
    allowedMentions: { parse: [], users: payload.ping ?? [] },
    ...(payload.files === undefined ? {} : { files: payload.files, attachments: [] }),
  };
}

function createOptions(payload: StatusPayload): MessageCreateOptions {
  return {
    content: payload.content,
    components: payload.components,
    allowedMentions: { parse: [], users: payload.ping ?? [] },
    ...(payload.files && payload.files.length > 0 ? { files: payload.files } : {}),
  };
}

/** A message sent and edited with the bot token in a channel or thread (optionally as a reply to a person's message). */
export class ChannelStatus implements StatusMessage {
  readonly viaInteraction = false;
  private id: string | undefined;

  constructor(
    private readonly channel: SendableChannels,
    private logger: Logger,
    init: { messageId?: string | undefined; replyTo?: Message | undefined } = {},
  ) {
    this.id = init.messageId;
    this.replyTo = init.replyTo;
  }

  private replyTo: Message | undefined;

  get channelId(): string {
    return this.channel.id;
  }

  useLogger(logger: Logger): void {
    this.logger = logger;
  }

  get messageId(): string | undefined {
    return this.id;
  }

  async show(payload: StatusPayload): Promise<Message> {
    if (this.id) {
      try {
        return await this.channel.messages.edit(this.id, editOptions(payload));
      } catch (error) {
        const code = apiCode(error);
        // The message is gone or not ours to edit (e.g. an ephemeral interaction reply): carry on in a new one.
        if (code !== DiscordCode.UnknownMessage && code !== 50005) throw error;
        this.logger.warn(`status message ${this.id} cannot be edited (${code}); posting a new one`);
        this.id = undefined;
      }
    }
    const options = createOptions(payload);
    const replyTo = this.replyTo;
    this.replyTo = undefined;
    const message = replyTo ? await replyTo.reply({ ...options, failIfNotExists: false }) : await this.channel.send(options);
    this.id = message.id;
    return message;
  }
}

/**
 * The interaction's own reply (`@original`, or a follow-up when the interaction was already answered by its owner),
 * edited through the interaction webhook until the token is near its 15 minutes, then through the bot token.
 */
export class InteractionStatus implements StatusMessage {
  private id: string | undefined;
  private fallback: ChannelStatus | undefined;
  private readonly expiresAt: number;

  constructor(
    private readonly interaction: RepliableInteraction,
    private readonly clock: Clock,
    private logger: Logger,
    /** When the interaction arrived (by the injected clock): the token's 15 minutes start then. */
    receivedAt: number,
    private readonly mode: 'original' | 'follow-up' = 'original',
  ) {
    this.expiresAt = receivedAt + INTERACTION_TOKEN_LIFETIME_MS - TOKEN_SAFETY_MARGIN_MS;
  }

  get channelId(): string {
    return this.interaction.channelId ?? '';
  }

  useLogger(logger: Logger): void {
    this.logger = logger;
    this.fallback?.useLogger(logger);
  }

  get messageId(): string | undefined {
    return this.fallback?.messageId ?? this.id;
  }

  get viaInteraction(): boolean {
    return this.fallback === undefined && this.clock.now() < this.expiresAt;
  }

  async show(payload: StatusPayload): Promise<Message> {
    if (this.fallback === undefined && this.clock.now() >= this.expiresAt) await this.switchToBotToken('the interaction token is about to expire');
    if (this.fallback === undefined) {
      try {
        const message = await this.showThroughWebhook(payload);
        this.id = message.id;
        return message;
      } catch (error) {
        if (!isExpiredToken(error)) throw error;
        await this.switchToBotToken(`Discord refused the interaction token (${apiCode(error) ?? 'expired'})`);
      }
    }
    return (this.fallback as ChannelStatus).show(payload);
  }

  /**
   * A refusal that must not stay public (the daemon's PROMPT_REFUSED names the blocked term) after the reply was
   * deferred publicly: Discord cannot make a sent reply ephemeral (editReply keeps the flags of the deferral), so the
   * public reply is deleted and an ephemeral follow-up sent in its place. False once the token is no longer used.
   */
  async replaceWithPrivate(content: string): Promise<boolean> {
    if (!this.viaInteraction) return false;
    if (this.mode === 'original') await this.interaction.deleteReply();
    else if (this.id) await this.interaction.deleteReply(this.id);
    const message = await this.interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
    this.id = message.id;
    return true;
  }

  private async showThroughWebhook(payload: StatusPayload): Promise<Message> {
    if (this.mode === 'original') return this.interaction.editReply(editOptions(payload));
    if (this.id) return this.interaction.webhook.editMessage(this.id, editOptions(payload));
    return this.interaction.followUp({ content: payload.content, components: payload.components, allowedMentions: { parse: [], users: payload.ping ?? [] }, ...(payload.files && payload.files.length > 0 ? { files: payload.files } : {}) });
  }

  private async switchToBotToken(why: string): Promise<void> {
    const id = this.interaction.channelId;
    const channel = this.interaction.channel ?? (id ? await this.interaction.client.channels.fetch(id).catch(() => null) : null);
    if (!channel || !channel.isSendable()) throw new Error(`cannot continue with the bot token: channel ${id ?? '?'} cannot be found or posted in`);
    const ephemeral = this.interaction.ephemeral === true || (this.interaction.isMessageComponent() && this.interaction.message.flags.has(MessageFlags.Ephemeral));
    this.logger.info(`interaction ${this.interaction.id}: ${why}; continuing with bot-token messages`);
    this.fallback = new ChannelStatus(channel, this.logger, ephemeral ? {} : { messageId: this.id });
  }
}
