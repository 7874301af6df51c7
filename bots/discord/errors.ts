// Discord's refusals, turned into messages people can act on. Codes: https://discord.com/developers/docs/topics/opcodes-and-status-codes
import { DiscordAPIError } from 'discord.js';
import { PlatformError, toBotError, type BotError } from '../core/errors.ts';

export const DiscordCode = {
  UnknownChannel: 10003,
  UnknownMessage: 10008,
  UnknownWebhook: 10015,
  UnknownInteraction: 10062,
  MissingAccess: 50001,
  MissingPermissions: 50013,
  InvalidWebhookToken: 50027,
  RequestEntityTooLarge: 40005,
  InteractionAlreadyAcknowledged: 40060,
  ThreadAlreadyCreated: 160004,
} as const;

export function apiCode(error: unknown): number | undefined {
  return error instanceof DiscordAPIError && typeof error.code === 'number' ? error.code : undefined;
}

/** The interaction token no longer works (15 minutes passed, or Discord forgot it): switch to the bot token. */
export function isExpiredToken(error: unknown): boolean {
  if (!(error instanceof DiscordAPIError)) return false;
  return error.code === DiscordCode.InvalidWebhookToken || error.code === DiscordCode.UnknownWebhook || (error.status === 401 && error.url.includes('/webhooks/'));
}

export function isTooLarge(error: unknown): boolean {
  return error instanceof DiscordAPIError && (error.code === DiscordCode.RequestEntityTooLarge || error.status === 413);
}

export function isMissingPermission(error: unknown): boolean {
  return error instanceof DiscordAPIError && (error.code === DiscordCode.MissingPermissions || error.code === DiscordCode.MissingAccess);
}

/**
 * Wraps a Discord failure into a PlatformError whose message says what the bot was doing and what to fix.
 * `doing` is e.g. "post the clip in the thread"; `permission` names what that needs, e.g. "Attach Files".
 */
export function discordFailure(error: unknown, doing: string, permission?: string): BotError {
  if (!(error instanceof DiscordAPIError)) return toBotError(error, `I could not ${doing}.`);
  const code = String(error.code);
  if (isMissingPermission(error)) {
    const needs = permission ? ` I need the **${permission}** permission here; ask a server admin to grant it.` : ' A server admin can fix my permissions here.';
    return new PlatformError(`I could not ${doing}: Discord says I am missing permissions.${needs}`, code, { cause: error });
  }
  if (isTooLarge(error)) return new PlatformError(`I could not ${doing}: the file is over this server's upload limit.`, code, { cause: error });
  if (error.code === DiscordCode.UnknownChannel) return new PlatformError(`I could not ${doing}: the channel or thread is gone.`, code, { cause: error });
  return new PlatformError(`I could not ${doing}: Discord answered ${error.status} (${error.message}).`, code, { cause: error });
}
