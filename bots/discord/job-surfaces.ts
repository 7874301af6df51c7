// Where a Discord job shows itself: builds the DiscordJobSurface for each way a job starts. A slash command or a
// plugin call on an interaction edits the interaction's reply and posts the clip in a thread on it (or in the
// thread or channel it ran in); a message-anchored job (Q&A, plugin calls on a message) opens a thread on the
// person's message; a follow-up in a clip's thread answers inside that thread.
import type { AnyThreadChannel, Client, Message, RepliableInteraction, SendableChannels } from 'discord.js';
import type { Clock } from '../core/clock.ts';
import { PlatformError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { ChannelStatus, InteractionStatus, type StatusMessage } from './status-message.ts';
import { DiscordJobSurface, type DiscordSurfaceShared } from './surface.ts';
import { isThreadParent, openThreadOn, threadName, ThreadHost, type ClipPlace } from './thread-host.ts';

export interface DiscordSurfacesOptions {
  client: Client;
  shared: DiscordSurfaceShared;
  clock: Clock;
  logger: Logger;
  /** The upload limit when an interaction reports none (messages, plugin calls). */
  defaultUploadLimitBytes: number;
}

export class DiscordSurfaces {
  constructor(private readonly o: DiscordSurfacesOptions) {}

  /** A job started by an interaction: `original` edits its reply, `follow-up` posts a new one (already answered). */
  async forInteraction(interaction: RepliableInteraction, prompt: string, receivedAt: number, mode: 'original' | 'follow-up'): Promise<DiscordJobSurface> {
    const status = new InteractionStatus(interaction, this.o.clock, this.o.logger, receivedAt, mode);
    const { host, threadId } = await this.hostForInteraction(interaction, status, prompt);
    const uploadLimitBytes = interaction.attachmentSizeLimit || this.o.defaultUploadLimitBytes;
    return new DiscordJobSurface(this.o.shared, { status, host, uploadLimitBytes, threadId });
  }

  /** A message-anchored job (Q&A, plugin calls): a thread on the person's message, the status inside it. */
  async forMessage(message: Message, prompt: string): Promise<DiscordJobSurface> {
    const channel = message.channel;
    let place: ClipPlace;
    if (channel.isThread()) place = { channel, isThread: true };
    else if (isThreadParent(channel)) place = await openThreadOn(channel, async () => message.id, threadName(prompt), this.o.logger);
    else if (channel.isSendable()) place = { channel, isThread: false };
    else throw new PlatformError('I cannot post in this channel.', 'not_sendable');
    const inThread = place.isThread && place.channel.id !== message.channelId;
    const status = new ChannelStatus(place.channel, this.o.logger, inThread ? {} : { replyTo: message });
    return new DiscordJobSurface(this.o.shared, {
      status,
      host: ThreadHost.fixed(place),
      uploadLimitBytes: this.o.defaultUploadLimitBytes,
      threadId: place.isThread ? place.channel.id : undefined,
    });
  }

  /** A follow-up typed in a clip's thread: the answer replies to it there. */
  forThreadReply(message: Message, thread: AnyThreadChannel): DiscordJobSurface {
    const status = new ChannelStatus(thread, this.o.logger, { replyTo: message });
    return new DiscordJobSurface(this.o.shared, {
      status,
      host: ThreadHost.fixed({ channel: thread, isThread: true }),
      uploadLimitBytes: this.o.defaultUploadLimitBytes,
      threadId: thread.id,
    });
  }

  private async channelOf(interaction: RepliableInteraction): Promise<SendableChannels | undefined> {
    const channel = interaction.channel ?? (interaction.channelId ? await this.o.client.channels.fetch(interaction.channelId).catch(() => null) : null);
    return channel && channel.isSendable() ? channel : undefined;
  }

  /** Where the clips of a job started by an interaction go: its thread, or a new thread on its reply. */
  private async hostForInteraction(interaction: RepliableInteraction, status: StatusMessage, prompt: string): Promise<{ host: ThreadHost; threadId?: string }> {
    const channel = await this.channelOf(interaction);
    if (channel?.isThread()) return { host: ThreadHost.fixed({ channel, isThread: true }), threadId: channel.id };
    if (channel && isThreadParent(channel)) {
      const replyId = async () => status.messageId ?? (await interaction.fetchReply()).id;
      return { host: new ThreadHost(() => openThreadOn(channel, replyId, threadName(prompt), this.o.logger)) };
    }
    if (channel) return { host: ThreadHost.fixed({ channel, isThread: false }) };
    return { host: new ThreadHost(async () => { throw new PlatformError('I cannot see this channel, so I cannot post the clip in it.', 'no_channel'); }) };
  }
}
