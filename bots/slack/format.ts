// Slack renderings of a job's states: mrkdwn text and Block Kit blocks. Pure functions, so they are easy to
// read and test; the surface decides when to send them.
import type { AcceptedJob, ClipInfo, ProgressUpdate } from '../core/adapter.ts';
import type { BotError } from '../core/errors.ts';
import type { types as SlackTypes } from '@slack/bolt';
import { progressBar as coreProgressBar, settingsParts } from '../core/format.ts';

/** action_id of each button; the value carries the job id. */
export const ACTION_IDS = {
  cancel: 'animate_cancel',
  reroll: 'animate_reroll',
  variations: 'animate_variations',
  refine: 'animate_refine',
  extend: 'animate_extend',
} as const;
export type ButtonKind = keyof typeof ACTION_IDS;

export const REFINE_CALLBACK_ID = 'animate_refine_modal';
export const REFINE_BLOCK_ID = 'refine_prompt';
export const REFINE_INPUT_ID = 'prompt';

export type Block = SlackTypes.KnownBlock;

/** Slack mrkdwn needs &, < and > escaped in text we did not write ourselves. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function progressBar(done: number, total: number, width = 20): string {
  return coreProgressBar(done, total, { width, full: '█', empty: '░' });
}

function seconds(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return '';
  return value < 60 ? `~${Math.ceil(value)} s` : `~${Math.ceil(value / 60)} min`;
}

export function queuedText(position: number, etaSeconds: number): string {
  const eta = seconds(etaSeconds);
  return position <= 1
    ? `:hourglass_flowing_sand: Next in the queue${eta ? ` (starts in ${eta})` : ''}…`
    : `:hourglass_flowing_sand: Queued: position ${position}${eta ? `, starts in ${eta}` : ''}…`;
}

export function progressText(p: ProgressUpdate): string {
  const eta = seconds(p.etaSeconds);
  const stage = p.stage === 'denoise' ? 'denoising' : p.stage === 'decode' ? 'decoding frames' : p.stage === 'encode' ? 'encoding the video' : p.stage;
  return `\`${progressBar(p.step, p.total)}\` step ${p.step}/${p.total} · ${stage}${eta ? ` · ${eta} left` : ''}`;
}

export function settingsLine(info: ClipInfo): string {
  return settingsParts(info, { escape: escapeMrkdwn, framesJoiner: '@', quote: ['“', '”'] }).join(' · ');
}

export function acceptedText(job: AcceptedJob, label?: string): string {
  const lines: string[] = [];
  if (label) lines.push(`*${escapeMrkdwn(label)}*`);
  if (job.derivedFrom?.kind === 'refinement') lines.push(`Refining with “${escapeMrkdwn(job.derivedFrom.text)}”: using the prompt *${escapeMrkdwn(job.prompt)}*`);
  else if (job.derivedFrom?.kind === 'question') lines.push(`Answering “${escapeMrkdwn(job.derivedFrom.text)}” with a clip of *${escapeMrkdwn(job.prompt)}*`);
  if (job.variant && job.variant.count > 1) lines.push(`Variant ${job.variant.index} of ${job.variant.count}`);
  lines.push(':clapper: Starting…');
  return lines.join('\n');
}

export function clipComment(info: ClipInfo): string {
  const lines = [`:movie_camera: *${escapeMrkdwn(info.prompt)}*`, settingsLine(info)];
  if (info.variant && info.variant.count > 1) lines.push(`Variant ${info.variant.index} of ${info.variant.count}`);
  if (info.unknownWords.length > 0) lines.push(`_The model does not know: ${info.unknownWords.map(escapeMrkdwn).join(', ')}_`);
  lines.push(`Made in ${(info.timings.totalMs / 1000).toFixed(1)} s for <@${info.requester.userId}>`);
  return lines.join('\n');
}

export function errorText(error: BotError): string {
  const retry = error.retryAfterSeconds !== undefined && !/try again/i.test(error.message) ? ` Try again in ${Math.ceil(error.retryAfterSeconds)} s.` : '';
  return `:warning: ${error.message}${retry}`;
}

export function sectionBlock(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function button(kind: ButtonKind, text: string, jobId: string, style?: 'danger' | 'primary'): SlackTypes.Button {
  return { type: 'button', action_id: ACTION_IDS[kind], text: { type: 'plain_text', text }, value: jobId, ...(style ? { style } : {}) };
}

export function cancelButtons(jobId: string): Block {
  return { type: 'actions', block_id: 'animate_running', elements: [button('cancel', 'Cancel', jobId, 'danger')] };
}

/** The clip's buttons; Extend only when the daemon sent the clip's last frame (what Extend starts from). */
export function doneButtons(jobId: string, extendable = false): Block {
  return {
    type: 'actions',
    block_id: 'animate_done',
    elements: [
      button('reroll', 'Reroll', jobId, 'primary'),
      button('variations', 'Variations', jobId),
      button('refine', 'Refine…', jobId),
      ...(extendable ? [button('extend', 'Extend', jobId)] : []),
    ],
  };
}

/** The Refine modal: the job's prompt filled in; private_metadata carries the job id and where to reply. */
export function refineModal(prompt: string, metadata: string): SlackTypes.ModalView {
  return {
    type: 'modal',
    callback_id: REFINE_CALLBACK_ID,
    private_metadata: metadata,
    title: { type: 'plain_text', text: 'Refine the clip' },
    submit: { type: 'plain_text', text: 'Animate' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: REFINE_BLOCK_ID,
        label: { type: 'plain_text', text: 'Prompt' },
        element: { type: 'plain_text_input', action_id: REFINE_INPUT_ID, multiline: true, initial_value: prompt, max_length: 2000 },
      },
    ],
  };
}
