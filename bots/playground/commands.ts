// The playground's slash commands, named once: the server routes a message by them, and a message that opens with
// "/word" naming none of them is a mistyped command ("/animat a blue star"), answered with the nearest one instead of
// being taken as a refinement of the thread's clip (which would animate "/animat a blue star" as a prompt).
import { nearestName } from '../../shared/did-you-mean.ts';

/** What the playground understands after a "/": /animate <prompt> (and /animate help), /help. */
export const PLAYGROUND_COMMANDS = ['/animate', '/help'] as const;

/** The command word at the start of a message ("/animat" of "/animat a blue star"); undefined when there is none. */
export function commandWord(text: string): string | undefined {
  return /^\/[^\s/]+/.exec(text.trim())?.[0];
}

/**
 * The answer to a message that opens with a command the playground does not know, or undefined for a known command
 * and for any message not opening with "/word". Case does not matter ("/Animate" is /animate).
 */
export function unknownCommandMessage(text: string): string | undefined {
  const word = commandWord(text);
  if (word === undefined) return undefined;
  const lower = word.toLowerCase();
  if ((PLAYGROUND_COMMANDS as readonly string[]).includes(lower)) return undefined;
  const near = nearestName(lower, PLAYGROUND_COMMANDS);
  const shown = word.length > 40 ? `${word.slice(0, 40)}…` : word;
  return near ? `Unknown command ${shown}. Did you mean ${near}?` : `Unknown command ${shown}. Commands: ${PLAYGROUND_COMMANDS.join(', ')} (/animate help lists the options).`;
}
