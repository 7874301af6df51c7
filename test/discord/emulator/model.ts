// The emulator's in-memory world: one guild, its channels and threads, users, messages, interactions, commands.
// Builders turn records into the JSON shapes Discord's API v10 returns, which discord.js parses.
import { PermissionFlagsBits } from 'discord-api-types/v10';
import type { EmulatorClock, SnowflakeFactory } from './ids.ts';

export const ChannelKind = { GuildText: 0, PublicThread: 11 } as const;

export interface EmuUser {
  id: string;
  username: string;
  bot: boolean;
  /** Guild-level permissions of this member (a moderator has ManageMessages). */
  permissions: bigint;
}

export interface EmuAttachment {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
  url: string;
  /** The CDN answers without Content-Length (chunked), as a file whose size only shows while reading. */
  chunked?: boolean;
  /** The CDN waits this long before answering (a slow or stuck CDN). */
  delayMs?: number;
  /** The CDN answers 302 to this address instead of the file. */
  redirectTo?: string;
}

export interface EmuMessageRevision {
  at: number;
  content: string;
  attachments: string[];
  components: number;
}

export interface EmuMessage {
  id: string;
  channelId: string;
  author: EmuUser;
  content: string;
  components: unknown[];
  embeds: unknown[];
  attachments: EmuAttachment[];
  flags: number;
  createdAt: number;
  editedAt: number | null;
  /** Set for messages sent through an interaction's webhook. */
  webhookId: string | null;
  /** The interaction this message answers (the original response), when any. */
  interactionId: string | null;
  mentions: EmuUser[];
  /** Thread started from this message, when any. */
  threadId: string | null;
  revisions: EmuMessageRevision[];
  deleted: boolean;
}

export interface EmuChannel {
  id: string;
  type: number;
  name: string;
  parentId: string | null;
  ownerId: string | null;
  /** Permission bits denied to the bot in this channel (an overwrite on the bot's member). */
  botDeny: bigint;
  createdAt: number;
  autoArchiveMinutes: number;
}

export interface EmuModal {
  customId: string;
  title: string;
  /** custom_id → prefilled value of each text input. */
  fields: Record<string, { label: string; value: string | undefined; style: number }>;
}

export interface EmuInteraction {
  id: string;
  token: string;
  type: number;
  channelId: string;
  user: EmuUser;
  createdAt: number;
  /** Time of the first callback, when any. */
  acknowledgedAt: number | null;
  responseType: number | null;
  /** The message @original refers to. For components it is the message the button sits on. */
  originalMessageId: string | null;
  /** The component message, for buttons and modals opened from one. */
  sourceMessageId: string | null;
  modal: EmuModal | null;
  /** The suggestions an autocomplete interaction was answered with (callback type 8), when it was. */
  choices: Array<{ name: string; value: string | number }> | null;
  /** Set by tests: Discord refuses the token from now on. */
  tokenRevoked: boolean;
  attachmentSizeLimit: number;
  appPermissions: bigint;
}

export interface EmuCommand {
  id: string;
  applicationId: string;
  guildId: string | null;
  name: string;
  description: string;
  options: Array<{ name: string; type: number; description?: string; required?: boolean; choices?: unknown[]; min_value?: number; max_value?: number; autocomplete?: boolean }>;
  raw: Record<string, unknown>;
}

export const DEFAULT_MEMBER_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.UseApplicationCommands |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.CreatePublicThreads;

export const DEFAULT_BOT_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageThreads;

export class World {
  readonly users = new Map<string, EmuUser>();
  readonly channels = new Map<string, EmuChannel>();
  readonly messages = new Map<string, EmuMessage>();
  readonly interactions = new Map<string, EmuInteraction>();
  readonly interactionsByToken = new Map<string, EmuInteraction>();
  readonly commands: EmuCommand[] = [];
  readonly attachments = new Map<string, EmuAttachment>();
  readonly guildId: string;
  readonly guildName = 'Emulated Guild';
  readonly botUser: EmuUser;
  readonly generalChannelId: string;
  /** The guild owner is a person, never the bot (owners bypass permission overwrites). */
  readonly ownerId: string;
  /** Permissions the bot's role grants in the whole guild. */
  botPermissions: bigint = DEFAULT_BOT_PERMISSIONS;

  constructor(
    readonly ids: SnowflakeFactory,
    readonly clock: EmulatorClock,
    readonly applicationId: string,
    readonly baseUrl: () => string,
  ) {
    this.guildId = ids.next();
    this.botUser = { id: applicationId, username: 'animate-bot', bot: true, permissions: DEFAULT_BOT_PERMISSIONS };
    this.users.set(this.botUser.id, this.botUser);
    this.ownerId = this.addUser('owner', DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.Administrator).id;
    this.generalChannelId = this.addChannel({ name: 'general', type: ChannelKind.GuildText, parentId: null, ownerId: null }).id;
  }

  addUser(username: string, permissions: bigint = DEFAULT_MEMBER_PERMISSIONS): EmuUser {
    const user: EmuUser = { id: this.ids.next(), username, bot: false, permissions };
    this.users.set(user.id, user);
    return user;
  }

  addChannel(init: { name: string; type: number; parentId: string | null; ownerId: string | null; id?: string }): EmuChannel {
    const channel: EmuChannel = {
      id: init.id ?? this.ids.next(),
      type: init.type,
      name: init.name,
      parentId: init.parentId,
      ownerId: init.ownerId,
      botDeny: 0n,
      createdAt: this.clock.now(),
      autoArchiveMinutes: 1440,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** The bot's effective permissions in a channel; a thread uses its parent's overwrites, as Discord does. */
  botPermissionsIn(channelId: string): bigint {
    const channel = this.channels.get(channelId);
    if (!channel) return 0n;
    const scope = channel.parentId ? this.channels.get(channel.parentId) : channel;
    const deny = (scope?.botDeny ?? 0n) | (channel.botDeny ?? 0n);
    return this.botPermissions & ~deny;
  }

  addMessage(init: {
    channelId: string;
    author: EmuUser;
    content?: string;
    components?: unknown[];
    embeds?: unknown[];
    attachments?: EmuAttachment[];
    flags?: number;
    webhookId?: string | null;
    interactionId?: string | null;
    mentions?: EmuUser[];
  }): EmuMessage {
    const message: EmuMessage = {
      id: this.ids.next(),
      channelId: init.channelId,
      author: init.author,
      content: init.content ?? '',
      components: init.components ?? [],
      embeds: init.embeds ?? [],
      attachments: init.attachments ?? [],
      flags: init.flags ?? 0,
      createdAt: this.clock.now(),
      editedAt: null,
      webhookId: init.webhookId ?? null,
      interactionId: init.interactionId ?? null,
      mentions: init.mentions ?? [],
      threadId: null,
      revisions: [],
      deleted: false,
    };
    message.revisions.push(revisionOf(message, message.createdAt));
    this.messages.set(message.id, message);
    return message;
  }

  messagesIn(channelId: string): EmuMessage[] {
    return [...this.messages.values()].filter((m) => m.channelId === channelId && !m.deleted);
  }

  // ---- API shapes ----

  apiUser(user: EmuUser): Record<string, unknown> {
    return { id: user.id, username: user.username, global_name: user.username, discriminator: '0', avatar: null, bot: user.bot, flags: 0, public_flags: 0 };
  }

  apiMember(user: EmuUser): Record<string, unknown> {
    return {
      user: this.apiUser(user),
      roles: user.bot ? [this.botRoleId()] : [],
      joined_at: new Date(0).toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      nick: null,
      avatar: null,
      premium_since: null,
      pending: false,
      communication_disabled_until: null,
      permissions: user.permissions.toString(),
    };
  }

  botRoleId(): string {
    return `${this.guildId.slice(0, -1)}9`;
  }

  apiRoles(): Array<Record<string, unknown>> {
    const role = (id: string, name: string, permissions: bigint, position: number) => ({
      id, name, permissions: permissions.toString(), position, color: 0, hoist: false, managed: false, mentionable: false, flags: 0,
    });
    // @everyone grants nothing extra; members carry their permissions on the interaction payload, the bot through its role.
    return [role(this.guildId, '@everyone', 0n, 0), role(this.botRoleId(), 'animate-bot', this.botPermissions, 1)];
  }

  apiChannel(channel: EmuChannel): Record<string, unknown> {
    if (channel.type === ChannelKind.PublicThread) {
      return {
        id: channel.id,
        type: channel.type,
        guild_id: this.guildId,
        parent_id: channel.parentId,
        owner_id: channel.ownerId,
        name: channel.name,
        last_message_id: null,
        rate_limit_per_user: 0,
        message_count: this.messagesIn(channel.id).length,
        member_count: 1,
        total_message_sent: this.messagesIn(channel.id).length,
        flags: 0,
        thread_metadata: {
          archived: false,
          auto_archive_duration: channel.autoArchiveMinutes,
          archive_timestamp: new Date(channel.createdAt).toISOString(),
          locked: false,
          create_timestamp: new Date(channel.createdAt).toISOString(),
        },
      };
    }
    return {
      id: channel.id,
      type: channel.type,
      guild_id: this.guildId,
      name: channel.name,
      position: 0,
      parent_id: null,
      topic: null,
      nsfw: false,
      last_message_id: null,
      rate_limit_per_user: 0,
      permission_overwrites:
        channel.botDeny !== 0n ? [{ id: this.botUser.id, type: 1, allow: '0', deny: channel.botDeny.toString() }] : [],
    };
  }

  apiAttachment(a: EmuAttachment): Record<string, unknown> {
    return { id: a.id, filename: a.filename, size: a.size, url: a.url, proxy_url: a.url, content_type: a.contentType };
  }

  apiMessage(message: EmuMessage): Record<string, unknown> {
    const thread = message.threadId ? this.channels.get(message.threadId) : undefined;
    return {
      id: message.id,
      channel_id: message.channelId,
      guild_id: this.guildId,
      author: this.apiUser(message.author),
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: message.mentions.map((u) => this.apiUser(u)),
      mention_roles: [],
      attachments: message.attachments.map((a) => this.apiAttachment(a)),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      type: message.interactionId ? 20 : 0,
      flags: message.flags,
      ...(message.webhookId ? { webhook_id: message.webhookId, application_id: this.applicationId } : {}),
      ...(thread ? { thread: this.apiChannel(thread) } : {}),
    };
  }

  apiGuild(): Record<string, unknown> {
    const channels = [...this.channels.values()];
    return {
      id: this.guildId,
      name: this.guildName,
      icon: null,
      owner_id: this.ownerId,
      roles: this.apiRoles(),
      emojis: [],
      stickers: [],
      features: [],
      channels: channels.filter((c) => c.type !== ChannelKind.PublicThread).map((c) => this.apiChannel(c)),
      threads: channels.filter((c) => c.type === ChannelKind.PublicThread).map((c) => this.apiChannel(c)),
      members: [this.apiMember(this.botUser)],
      member_count: this.users.size,
      large: false,
      unavailable: false,
      joined_at: new Date(0).toISOString(),
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      system_channel_flags: 0,
    };
  }
}

export function revisionOf(message: EmuMessage, at: number): EmuMessageRevision {
  return { at, content: message.content, attachments: message.attachments.map((a) => a.filename), components: message.components.length };
}
