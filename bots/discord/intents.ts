// The gateway intents the bot asks for, and the one start-up error for Discord refusing them. Message Content is a
// privileged intent: asked for while its portal toggle is off, Discord closes the gateway with 4014 and discord.js
// only says "Used disallowed intents". The bot works without it (Discord still sends the text of messages that
// mention the bot, which is how refinement and Q&A reach it), so it is opt-in (DISCORD_MESSAGE_CONTENT) and a 4014
// is explained here, naming the setting and the toggle.
import { GatewayIntentBits } from 'discord.js';
import { CodedError } from '../../shared/errors.ts';

/** Discord's close code for a privileged intent the application may not use. */
export const DISALLOWED_INTENTS_CLOSE_CODE = 4014;

/** Guilds (commands, threads), GuildMessages (mentions in channels and threads), and Message Content when asked. */
export function gatewayIntents(messageContent: boolean): GatewayIntentBits[] {
  const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages];
  if (messageContent) intents.push(GatewayIntentBits.MessageContent);
  return intents;
}

/** Discord refused an intent at login (close code 4014): a CodedError (shared/errors.ts). */
export class DiscordIntentsError extends CodedError<'DISCORD_DISALLOWED_INTENTS'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DISCORD_DISALLOWED_INTENTS', message, options);
  }
}

/** Whether a login failure (or the gateway's last close code) is Discord's 4014. */
export function isDisallowedIntents(error: unknown, lastCloseCode: number | undefined): boolean {
  if (lastCloseCode === DISALLOWED_INTENTS_CLOSE_CODE) return true;
  // @discordjs/ws 1.x reports 4014 as a plain Error with this text (no code), the only sign that reaches login().
  return error instanceof Error && /disallowed intents/i.test(error.message);
}

/** The start-up error for a 4014, saying what to change for the intents that were asked for. */
export function disallowedIntentsError(messageContent: boolean, cause: unknown): DiscordIntentsError {
  const message = messageContent
    ? 'Discord refused to log in: the bot asks for the Message Content intent (DISCORD_MESSAGE_CONTENT=true) but it is not enabled ' +
      'for this application (gateway close code 4014, disallowed intents). Either turn it on (Developer Portal → your application → ' +
      'Bot → Privileged Gateway Intents → Message Content Intent), or unset DISCORD_MESSAGE_CONTENT (default false): the bot then ' +
      'works without it, and refinement in a thread is by @mentioning the bot.'
    : 'Discord refused to log in with gateway close code 4014 (disallowed intents), although the bot asks for no privileged intent ' +
      '(DISCORD_MESSAGE_CONTENT is false): check Developer Portal → your application → Bot → Privileged Gateway Intents.';
  return new DiscordIntentsError(message, { cause });
}
