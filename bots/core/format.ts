// Platform-neutral pieces of what the bots say. Adapters add their own markup and escaping around them.
import type { ClipInfo } from './adapter.ts';
import { DEFAULT_STYLE_STRENGTH } from '../../shared/wire/styles.ts';

/** A size for people, in binary units with one decimal: "9.5 MiB", or "812.0 KiB" under a mebibyte. */
export function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** A text progress bar with the percentage: "▰▰▰▱▱ 60%". Glyphs differ per platform (fonts, code spans). */
export function progressBar(done: number, total: number, glyphs: { width: number; full: string; empty: string }): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * glyphs.width);
  return `${glyphs.full.repeat(filled)}${glyphs.empty.repeat(glyphs.width - filled)} ${Math.round(ratio * 100)}%`;
}

/**
 * The settings of a finished clip, one phrase each: seed, steps, guidance, frames, size, model, style and negative prompt.
 * `escape` is the platform's escaping for text people wrote (model name, negative prompt); `seed` formats the seed
 * (platforms emphasise it differently).
 */
export function settingsParts(info: ClipInfo, style: { escape: (text: string) => string; seed?: (seed: number) => string; framesJoiner?: string; quote?: [string, string] }): string[] {
  const [open, close] = style.quote ?? ['"', '"'];
  const parts = [
    `seed ${style.seed ? style.seed(info.seed) : info.seed}`,
    `${info.steps} steps`,
    `guidance ${Math.round(info.guidance * 100) / 100}`,
    `${info.frames} frames ${style.framesJoiner ?? 'at'} ${info.fps} fps`,
    `${info.width}×${info.height}`,
    `model ${style.escape(info.model)}`,
  ];
  // The style used, with its strength when it is not the default (what Reroll and the others keep).
  if (info.style) parts.push(`style ${style.escape(info.style.name)}${info.style.strength === DEFAULT_STYLE_STRENGTH ? '' : ` at ${info.style.strength}`}`);
  if (info.negativePrompt) parts.push(`negative ${open}${style.escape(info.negativePrompt)}${close}`);
  return parts;
}

/**
 * Where a queued job stands, from a Queued event: `position` 1 is next to start (animator.proto), and the ETA is the
 * wait for the jobs ahead and for a slot, so 1 with no wait means nothing is ahead and it is starting now. Position 0
 * is a place not told yet. Each platform words the cases itself ("Starting…", "Next in queue", "position 3").
 */
export type QueuePlace = { kind: 'unknown' } | { kind: 'starting' } | { kind: 'next' } | { kind: 'waiting'; position: number };

export function queuePlace(position: number, etaSeconds: number): QueuePlace {
  if (!(position >= 1)) return { kind: 'unknown' };
  if (position === 1) return etaSeconds > 0 ? { kind: 'next' } : { kind: 'starting' };
  return { kind: 'waiting', position: Math.floor(position) };
}
