// Button and modal ids. Every id this plugin owns starts with `animate:`, so a host bot's own components are
// never mistaken for ours (the plugin ignores everything else). Discord allows 100 characters per custom_id.
export const CUSTOM_ID_PREFIX = 'animate';

export const BUTTON_ACTIONS = ['cancel', 'reroll', 'variations', 'refine', 'extend'] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

export const REFINE_MODAL = 'refine-modal';
export const REFINE_PROMPT_FIELD = 'prompt';

export type ParsedCustomId = { kind: 'button'; action: ButtonAction; jobId: string } | { kind: 'refine-modal'; jobId: string };

export function buttonId(action: ButtonAction, jobId: string): string {
  return limit(`${CUSTOM_ID_PREFIX}:${action}:${jobId}`);
}

export function refineModalId(jobId: string): string {
  return limit(`${CUSTOM_ID_PREFIX}:${REFINE_MODAL}:${jobId}`);
}

/** Our ids parsed; undefined for anything that is not ours. */
export function parseCustomId(customId: string): ParsedCustomId | undefined {
  const match = /^animate:([a-z-]+):(.+)$/.exec(customId);
  if (!match) return undefined;
  const [, kind = '', jobId = ''] = match;
  if (kind === REFINE_MODAL) return { kind: 'refine-modal', jobId };
  if ((BUTTON_ACTIONS as readonly string[]).includes(kind)) return { kind: 'button', action: kind as ButtonAction, jobId };
  return undefined;
}

function limit(id: string): string {
  if (id.length > 100) throw new RangeError(`custom_id "${id}" is longer than Discord's 100 characters`);
  return id;
}
