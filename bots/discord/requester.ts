// Who asked, in the core's platform-neutral terms. Moderators are members with Manage Messages.
import { PermissionFlagsBits, type Message, type RepliableInteraction, type User } from 'discord.js';
import type { Requester } from '../core/adapter.ts';

function build(user: User, channelId: string, guildId: string | null, isModerator: boolean, displayName?: string): Requester {
  return {
    platform: 'discord',
    userId: user.id,
    displayName: displayName ?? user.displayName,
    channelId,
    ...(guildId ? { serverId: guildId } : {}),
    isModerator,
  };
}

export function requesterFromInteraction(interaction: RepliableInteraction): Requester {
  const isModerator = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
  const member = interaction.member;
  const nick = member && 'displayName' in member ? member.displayName : undefined;
  return build(interaction.user, interaction.channelId ?? '', interaction.guildId, isModerator, nick);
}

export function requesterFromMessage(message: Message): Requester {
  let isModerator = false;
  try {
    isModerator = message.member?.permissionsIn(message.channelId).has(PermissionFlagsBits.ManageMessages) ?? false;
  } catch {
    // Permissions cannot be computed without the guild's roles cached; only Cancel needs them, and it uses interactions.
  }
  return build(message.author, message.channelId, message.guildId, isModerator, message.member?.displayName);
}
