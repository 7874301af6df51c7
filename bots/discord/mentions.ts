// Messages addressed to the bot (an @mention, or a reply to it): in a clip's thread they refine that clip; "help"
// or an empty mention gets the help text; anything else is a question answered with a clip (Q&A). Messages from
// bots, webhooks and the system, and those not addressed to the bot, are left alone.
import type { Client, Message } from 'discord.js';
import { toBotError } from '../core/errors.ts';
import { failureText, truncate } from './format.ts';
import { helpBlock, type DiscordPluginContext } from './plugin-context.ts';
import { requesterFromMessage } from './requester.ts';

/** The text of a message addressed to the bot, without the mention; undefined when not addressed to it. */
export function addressedText(client: Client, message: Message): string | undefined {
  const me = client.user;
  if (!me) return undefined;
  const mentioned = message.mentions.users.has(me.id);
  const repliedToMe = message.mentions.repliedUser?.id === me.id;
  if (!mentioned && !repliedToMe) return undefined;
  return message.content.replace(new RegExp(`<@!?${me.id}>`, 'g'), ' ').replace(/\s+/g, ' ').trim();
}

/** A refinement when the message is in a thread the core knows; true when the message was handled that way. */
async function refineInThread(ctx: DiscordPluginContext, message: Message, text: string): Promise<boolean> {
  const thread = message.channel;
  // An empty mention is no refinement: it gets the help text, in a clip's thread as anywhere.
  if (!text || !thread.isThread() || !ctx.core.conversations.get(thread.id)) return false;
  const surface = ctx.surfaces.forThreadReply(message, thread);
  return (await ctx.core.followUp(thread.id, text, requesterFromMessage(message), surface)) !== undefined;
}

/** Resolves true when the message was ours. */
export async function handleMessage(ctx: DiscordPluginContext, message: Message): Promise<boolean> {
  if (!ctx.settings.mentions || message.author.bot || message.webhookId || message.system) return false;
  const text = addressedText(ctx.client, message);
  if (text === undefined) return false;
  // The message's arrival, for animate_bot_ack_seconds: before the thread is opened on it.
  const receivedAt = ctx.core.clock.now();
  try {
    if (await refineInThread(ctx, message, text)) return true;
    if (!text || /^(help|\?)$/i.test(text)) {
      const help = await ctx.core.help(`/${ctx.settings.commandName}`);
      await message.reply({ content: truncate(`Ask me a question or describe a scene, e.g. "@me how does a ball bounce?"\n${helpBlock(help)}`, 2000), allowedMentions: { parse: [] } });
      return true;
    }
    const surface = await ctx.surfaces.forMessage(message, text);
    await ctx.core.ask(surface, text, requesterFromMessage(message), { requestId: `discord-${message.id}`, receivedAt });
  } catch (error) {
    ctx.logger.error(`discord: handling message ${message.id} failed`, error);
    await message
      .reply({ content: failureText(toBotError(error)), allowedMentions: { parse: [] } })
      .catch((again: unknown) => ctx.logger.warn('could not report the failure', again));
  }
  return true;
}
