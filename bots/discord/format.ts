// What the bot's messages say and which buttons they carry. Pure functions of job state, so tests can read them.
import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import type { AcceptedJob, ClipInfo, ProgressUpdate, StartedInfo } from '../core/adapter.ts';
import type { BotError } from '../core/errors.ts';
import { buttonId } from './custom-ids.ts';
import { progressBar as coreProgressBar, settingsParts } from '../core/format.ts';

/** Discord refuses message content over 2000 characters. */
export const MAX_CONTENT = 2000;

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Removes Discord markdown that would change how a prompt reads, and mentions that would ping people. */
export function escapeText(text: string): string {
  return text.replace(/([*_`~|>\\])/g, '\\$1').replace(/@(everyone|here)/g, '@\u200b$1').replace(/<@/g, '<@\u200b');
}

export function progressBar(done: number, total: number, width = 16): string {
  return coreProgressBar(done, total, { width, full: '▰', empty: '▱' });
}

export function seconds(s: number): string {
  if (!Number.isFinite(s) || s <= 0) return 'a moment';
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}

export function headline(job: AcceptedJob, label?: string): string {
  const lines: string[] = [];
  if (label) lines.push(`**${escapeText(label)}**`);
  if (job.derivedFrom?.kind === 'question') lines.push(`❓ ${escapeText(truncate(job.derivedFrom.text, 300))}`);
  if (job.derivedFrom?.kind === 'refinement') {
    const previous = job.derivedFrom.previousPrompt ? ` (was: ${escapeText(truncate(job.derivedFrom.previousPrompt, 200))})` : '';
    lines.push(`✏️ Refinement "${escapeText(truncate(job.derivedFrom.text, 200))}"${previous}`);
  }
  const variant = job.variant ? ` · variant ${job.variant.index} of ${job.variant.count}` : '';
  lines.push(`🎬 Prompt used: **${escapeText(truncate(job.prompt, 600))}**${variant} · asked by <@${job.requester.userId}>`);
  return lines.join('\n');
}

export function queuedLine(position: number, etaSeconds: number): string {
  return `⏳ In the queue: position **${position}** · starts in about ${seconds(etaSeconds)}`;
}

export function startedLine(info: StartedInfo): string {
  return `🎞️ Rendering ${info.width}×${info.height}, ${info.frames} frames at ${info.fps} fps, ${info.totalSteps} steps, seed ${info.seed}`;
}

export function progressLine(p: ProgressUpdate): string {
  return `${progressBar(p.step, p.total)} · step ${p.step}/${p.total} · ${p.stage} · about ${seconds(p.etaSeconds)} left`;
}

export function settingsLine(info: ClipInfo): string {
  return settingsParts(info, { escape: (t) => escapeText(truncate(t, 200)), seed: (seed) => `**${seed}**` }).join(' · ');
}

export function clipMessage(info: ClipInfo, notes: readonly string[]): string {
  const lines = [
    `✅ **${escapeText(truncate(info.prompt, 800))}**${info.variant ? ` (variant ${info.variant.index} of ${info.variant.count})` : ''} for <@${info.requester.userId}>`,
    settingsLine(info),
    `⏱️ ${(info.timings.totalMs / 1000).toFixed(1)} s (${Math.round(info.timings.perStepMs)} ms per step)`,
  ];
  if (info.unknownWords.length > 0) lines.push(`🤔 The model does not know: ${info.unknownWords.map((w) => `"${escapeText(w)}"`).join(', ')}`);
  for (const note of notes) lines.push(`ℹ️ ${note}`);
  lines.push('Reply here and mention me ("slower", "now at night", "make it blue") to refine it.');
  return truncate(lines.join('\n'), MAX_CONTENT);
}

export function failureText(error: BotError): string {
  return `⚠️ ${error.message}`;
}

export function cancelRow(jobId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(buttonId('cancel', jobId)).setLabel('Cancel').setStyle(ButtonStyle.Danger),
  );
}

/** The clip's buttons; Extend only when the daemon sent the clip's last frame (what Extend starts from). */
export function clipRow(jobId: string, extendable = false): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(buttonId('reroll', jobId)).setLabel('Reroll').setEmoji('🎲').setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(buttonId('variations', jobId)).setLabel('Variations').setEmoji('🔀').setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(buttonId('refine', jobId)).setLabel('Refine').setEmoji('✏️').setStyle(ButtonStyle.Primary),
    ...(extendable ? [new ButtonBuilder().setCustomId(buttonId('extend', jobId)).setLabel('Extend').setEmoji('⏩').setStyle(ButtonStyle.Secondary)] : []),
  );
}
