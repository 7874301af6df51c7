// One job's life in Slack. A job gets a message in the channel (the thread's parent, unless it already lives
// in a thread) and works inside that thread: a status reply that chat.update turns from queue position into a
// progress bar and finally into a summary with buttons; previews uploaded into the thread, each replacing the
// one before (upload, then delete the previous file); the MP4 uploaded with files.getUploadURLExternal +
// upload + files.completeUploadExternal into the thread, with the prompt, seed and settings.
import type { WebClient } from '@slack/web-api';
import type {
  AcceptedJob,
  ChatAdapter,
  ClipFile,
  ClipInfo,
  JobSurface,
  PreviewImage,
  ProgressUpdate,
  Requester,
  SpawnContext,
} from '../core/adapter.ts';
import type { BotError } from '../core/errors.ts';
import { withFields, type Logger } from '../core/logger.ts';
import {
  acceptedText,
  cancelButtons,
  clipComment,
  doneButtons,
  errorText,
  escapeMrkdwn,
  progressText,
  queuedText,
  sectionBlock,
  type Block,
} from './format.ts';
import type { SlackRateGate } from './rate-gate.ts';
import { clipTooLargeError, toSlackBotError } from './errors.ts';
import { megabytes } from '../core/format.ts';

export interface SlackLogger {
  warn(...args: unknown[]): void;
  debug?(...args: unknown[]): void;
}

/** Sends a message only the requester sees, through the command's response_url (works outside channels the app is in). */
export type EphemeralResponder = (text: string) => Promise<void>;

export interface SlackSurfaceShared {
  adapter: ChatAdapter;
  gate: SlackRateGate;
  logger: SlackLogger;
  /** Minimum spacing of preview uploads of one job (each costs three API calls and a file). */
  previewIntervalMs: number;
}

export interface SlackSurfaceInit {
  client: WebClient;
  channel: string;
  requester: Requester;
  /** An existing thread to work in; absent: the surface posts the thread's parent message itself. */
  threadTs?: string;
  /** Heading shown on this job's status (spawn label such as "Reroll of …"). */
  label?: string;
  respond?: EphemeralResponder;
  /**
   * Called when the job's message cannot be posted at all (not in channel, missing scope): the plugin stops the
   * job then, instead of generating a clip nobody can receive. The error then reaches the person via fail().
   */
  onSetupFailed?: (jobId: string, error: BotError) => void;
}

export function slackThreadId(channel: string, threadTs: string): string {
  return `${channel}:${threadTs}`;
}

export class SlackJobSurface implements JobSurface {
  readonly adapter: ChatAdapter;
  private readonly client: WebClient;
  private readonly channel: string;
  private readonly requester: Requester;
  private readonly label: string | undefined;
  private readonly respond: EphemeralResponder | undefined;
  private threadTs: string | undefined;
  /** True when this surface posted the thread's parent (so it also marks the parent done / failed). */
  private ownsParent = false;
  private parentText = '';
  private statusTs: string | undefined;
  private job: AcceptedJob | undefined;
  private previewFileId: string | undefined;
  private lastPreviewAt = -Infinity;
  private previewsDisabled = false;
  private finished = false;
  private setupError: BotError | undefined;
  private readonly onSetupFailed: SlackSurfaceInit['onSetupFailed'];
  /** The shared logger, and once the job is accepted its child with the jobId, so every line about the job carries it. */
  private log: SlackLogger;

  constructor(private readonly shared: SlackSurfaceShared, init: SlackSurfaceInit) {
    this.adapter = shared.adapter;
    this.client = init.client;
    this.channel = init.channel;
    this.requester = init.requester;
    this.threadTs = init.threadTs;
    this.label = init.label;
    this.respond = init.respond;
    this.onSetupFailed = init.onSetupFailed;
    this.log = shared.logger;
  }

  get threadId(): string | undefined {
    return this.threadTs ? slackThreadId(this.channel, this.threadTs) : undefined;
  }

  /** The thread's parent ts once known (tests and plugin callers use it). */
  get thread(): { channel: string; threadTs: string | undefined; statusTs: string | undefined } {
    return { channel: this.channel, threadTs: this.threadTs, statusTs: this.statusTs };
  }

  async accepted(job: AcceptedJob): Promise<void> {
    this.job = job;
    // A child of a structured logger (bots/core/logger.ts withFields); other loggers are used as they are.
    this.log = withFields(this.shared.logger as Logger, { jobId: job.jobId }) as SlackLogger;
    try {
      // Started synchronously, so a spawn() for variant 2 that runs meanwhile reuses the same parent message.
      if (!this.threadTs) await this.ensureParent(`:clapper: <@${this.requester.userId}> asked for *${escapeMrkdwn(job.prompt)}*`);
      await this.shared.gate.acquire('chat.postMessage', this.channel);
      const text = acceptedText(job, this.label);
      const status = await this.call('post in this thread', () =>
        this.client.chat.postMessage({
          channel: this.channel,
          thread_ts: this.threadTs!,
          text,
          blocks: [sectionBlock(text), cancelButtons(job.jobId)],
        }),
      );
      this.statusTs = status.ts as string;
    } catch (err) {
      this.setupError = toSlackBotError(err, { doing: 'post in this channel' });
      this.onSetupFailed?.(job.jobId, this.setupError);
      throw this.setupError;
    }
  }

  async showQueued(position: number, etaSeconds: number): Promise<void> {
    await this.updateStatus(queuedText(position, etaSeconds), { droppable: true, buttons: 'cancel' });
  }

  async showProgress(progress: ProgressUpdate): Promise<void> {
    await this.updateStatus(progressText(progress), { droppable: true, buttons: 'cancel' });
  }

  async showPreview(image: PreviewImage): Promise<void> {
    if (this.previewsDisabled || !this.threadTs || this.finished) return;
    const now = this.shared.gate.clock.now();
    if (now - this.lastPreviewAt < this.shared.previewIntervalMs) return;
    if (!this.shared.gate.tryAcquire('files.upload', this.channel)) return;
    this.lastPreviewAt = now;
    const extension = image.mimeType === 'image/gif' ? 'gif' : 'webp';
    try {
      const uploaded = await this.client.filesUploadV2({
        channel_id: this.channel,
        thread_ts: this.threadTs,
        file: image.data,
        filename: `preview-step-${image.step}.${extension}`,
        title: `Preview, step ${image.step}/${image.total}`,
      });
      const fileId = firstFileId(uploaded);
      const previous = this.previewFileId;
      this.previewFileId = fileId;
      if (previous) await this.deleteFile(previous);
    } catch (err) {
      // Previews are a courtesy: a refused preview must not stop the job (the clip upload reports real problems).
      this.previewsDisabled = true;
      this.log.warn('slack: preview upload failed; no more previews for this job', toSlackBotError(err, { doing: 'upload a preview' }).message);
    }
  }

  async deliverClip(clip: ClipFile, info: ClipInfo): Promise<void> {
    if (this.setupError) throw this.setupError;
    if (!this.threadTs) throw new Error('deliverClip before accepted');
    if (clip.data.length > this.adapter.limits.maxUploadBytes) throw clipTooLargeError(clip.data.length, this.adapter.limits.maxUploadBytes);
    await this.shared.gate.acquire('files.upload', this.channel);
    const comment = clipComment(info);
    await this.call(
      'upload the clip',
      () =>
        this.client.filesUploadV2({
          channel_id: this.channel,
          thread_ts: this.threadTs!,
          file: clip.data,
          filename: clip.fileName,
          title: info.prompt.slice(0, 250),
          initial_comment: comment,
        }),
      { fileBytes: clip.data.length, maxUploadBytes: this.adapter.limits.maxUploadBytes },
    );
    this.finished = true;
    await this.dropPreview();
    const summary = `:white_check_mark: Done in ${(info.timings.totalMs / 1000).toFixed(1)} s (${megabytes(clip.data.length)}): the clip is in this thread.`;
    await this.updateStatus(summary, { droppable: false, buttons: 'done', jobId: info.jobId, extendable: (info.lastFrame?.length ?? 0) > 0 });
    await this.markParent(':white_check_mark:');
  }

  async fail(error: BotError): Promise<void> {
    this.finished = true;
    await this.dropPreview();
    // When the thread could not be made, that is the reason the person needs, whatever ended the job after it.
    const text = errorText(this.setupError ?? error);
    if (await this.tryThread(text)) {
      await this.markParent(':warning:');
      return;
    }
    // No thread to speak in (refused before it existed, or the app cannot post here): tell the person privately.
    if (this.respond) {
      try {
        await this.respond(text);
        return;
      } catch (err) {
        this.log.warn('slack: response_url failed', err);
      }
    }
    try {
      await this.client.chat.postEphemeral({ channel: this.channel, user: this.requester.userId, text });
    } catch (err) {
      this.log.warn('slack: could not tell the requester about a failure', text, err);
    }
  }

  async cancelled(by: string): Promise<void> {
    this.finished = true;
    await this.dropPreview();
    const who = /^[UW][A-Z0-9]+$/.test(by) ? `<@${by}>` : escapeMrkdwn(by);
    await this.tryThread(`:no_entry_sign: Cancelled by ${who}.`);
    await this.markParent(':no_entry_sign:');
  }

  async spawn(context: SpawnContext): Promise<JobSurface> {
    // Children live in the same thread; before the parent exists (variants of a fresh /animate), make it now.
    const threadTs = this.threadTs ?? (await this.ensureParent(`:clapper: <@${this.requester.userId}> asked for an animation`));
    return new SlackJobSurface(this.shared, {
      client: this.client,
      channel: this.channel,
      requester: context.requester,
      threadTs,
      label: context.label,
      ...(this.respond ? { respond: this.respond } : {}),
    });
  }

  // ---- internals -------------------------------------------------------------------------------

  private parentPromise: Promise<string> | undefined;

  /** Posts the thread's parent message once, however many callers ask at the same time. */
  private ensureParent(text: string): Promise<string> {
    this.parentPromise ??= (async () => {
      this.parentText = text;
      await this.shared.gate.acquire('chat.postMessage', this.channel);
      const parent = await this.call('post in this channel', () => this.client.chat.postMessage({ channel: this.channel, text, blocks: [sectionBlock(text)] }));
      this.threadTs = parent.ts as string;
      this.ownsParent = true;
      return this.threadTs;
    })();
    return this.parentPromise;
  }

  private async updateStatus(text: string, opts: { droppable: boolean; buttons: 'cancel' | 'done' | 'none'; jobId?: string; extendable?: boolean }): Promise<void> {
    if (!this.statusTs) return;
    if (opts.droppable) {
      if (this.finished || !this.shared.gate.tryAcquire('chat.update')) return;
    } else await this.shared.gate.acquire('chat.update');
    const jobId = opts.jobId ?? this.job?.jobId;
    const header = this.label ? `*${escapeMrkdwn(this.label)}*\n` : '';
    const blocks: Block[] = [sectionBlock(header + text)];
    if (jobId && opts.buttons === 'cancel') blocks.push(cancelButtons(jobId));
    if (jobId && opts.buttons === 'done') blocks.push(doneButtons(jobId, opts.extendable ?? false));
    try {
      await this.client.chat.update({ channel: this.channel, ts: this.statusTs, text: header + text, blocks });
    } catch (err) {
      if (!opts.droppable) throw toSlackBotError(err, { doing: 'update the status message' });
      this.log.warn('slack: progress update failed', toSlackBotError(err, { doing: 'update the status message' }).message);
    }
  }

  /** Puts a final message in the thread (editing the status reply when there is one). False when impossible. */
  private async tryThread(text: string): Promise<boolean> {
    if (this.statusTs) {
      try {
        await this.updateStatus(text, { droppable: false, buttons: 'none' });
        return true;
      } catch (err) {
        this.log.warn('slack: could not edit the status message', err);
      }
    }
    if (this.threadTs) {
      try {
        await this.shared.gate.acquire('chat.postMessage', this.channel);
        await this.client.chat.postMessage({ channel: this.channel, thread_ts: this.threadTs, text });
        return true;
      } catch (err) {
        this.log.warn('slack: could not post in the thread', err);
      }
    }
    return false;
  }

  private async markParent(emoji: string): Promise<void> {
    if (!this.ownsParent || !this.threadTs) return;
    const text = this.parentText.replace(/^:[a-z_]+:/, emoji);
    try {
      await this.shared.gate.acquire('chat.update');
      await this.client.chat.update({ channel: this.channel, ts: this.threadTs, text, blocks: [sectionBlock(text)] });
    } catch (err) {
      this.log.warn('slack: could not mark the parent message', err);
    }
  }

  private async dropPreview(): Promise<void> {
    const fileId = this.previewFileId;
    this.previewFileId = undefined;
    if (fileId) await this.deleteFile(fileId);
  }

  private async deleteFile(fileId: string): Promise<void> {
    try {
      await this.shared.gate.acquire('files.delete');
      await this.client.files.delete({ file: fileId });
    } catch (err) {
      this.log.warn('slack: could not delete an old preview', err);
    }
  }

  private async call<T>(doing: string, fn: () => Promise<T>, extra: { fileBytes?: number; maxUploadBytes?: number } = {}): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toSlackBotError(err, { doing, ...extra });
    }
  }
}

function firstFileId(result: unknown): string | undefined {
  // filesUploadV2 answers { files: [ { files: [ { id } ] } ] } (one completion per channel/thread group).
  const groups = (result as { files?: { files?: { id?: string }[] }[] }).files ?? [];
  return groups[0]?.files?.[0]?.id;
}
