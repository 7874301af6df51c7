// One job's life in Discord. The status message (the command's reply, or a message in the clip thread for jobs
// spawned from another) shows the queue position, a progress bar and the latest preview as an animated
// attachment; the finished MP4 is posted in the thread with the prompt, seed and settings and the Reroll /
// Variations / Refine buttons. Every path ends in a message in the channel.
import { AttachmentBuilder } from 'discord.js';
import type {
  AcceptedJob,
  ChatAdapter,
  ClipFile,
  ClipInfo,
  JobSurface,
  PreviewImage,
  ProgressUpdate,
  SpawnContext,
  StartedInfo,
} from '../core/adapter.ts';
import { BotErrorCode, type BotError } from '../core/errors.ts';
import { withFields, type Logger } from '../core/logger.ts';
import { sleep, type Clock } from '../core/clock.ts';
import { discordFailure, isMissingPermission, isTooLarge } from './errors.ts';
import { megabytes } from '../core/format.ts';
import { chooseUpload, daemonFitBytes, type ClipLinker, type UploadChoice } from './upload-choice.ts';
import { cancelRow, clipMessage, clipRow, failureText, headline, progressLine, queuedLine, startedLine, truncate, MAX_CONTENT } from './format.ts';
import { ChannelStatus, type StatusMessage, type StatusPayload } from './status-message.ts';
import type { ThreadHost } from './thread-host.ts';

export interface DiscordSurfaceShared {
  readonly adapter: ChatAdapter;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly linker?: ClipLinker | undefined;
  /** Ties a thread to a job as soon as its clip is there, so a follow-up posted right away already refines it. */
  readonly linkThread?: ((threadId: string, jobId: string) => void) | undefined;
}

export interface DiscordSurfaceInit {
  status: StatusMessage;
  host: ThreadHost;
  /** Largest upload for this job: the interaction's attachment_size_limit, else the configured default. */
  uploadLimitBytes: number;
  /** Set when the surface already lives in a thread (command ran in one, or spawned into one). */
  threadId?: string | undefined;
  label?: string | undefined;
}

const PREVIEW_EXT: Readonly<Record<string, string>> = { 'image/webp': 'webp', 'image/gif': 'gif' };

export class DiscordJobSurface implements JobSurface {
  readonly adapter: ChatAdapter;
  threadId: string | undefined;
  private readonly status: StatusMessage;
  private readonly host: ThreadHost;
  private readonly uploadLimitBytes: number;
  private readonly label: string | undefined;
  private job: AcceptedJob | undefined;
  private stateLine = '⏳ Getting ready…';
  private startedText: string | undefined;
  private previewNote: string | undefined;
  /** The message the clip was posted in, once delivered. */
  clipMessageId: string | undefined;
  private lastEditAt = -Infinity;
  /** True once the daemon queued or ran the job: a refusal after that (an output withheld) is no private matter. */
  private ran = false;
  /** The shared logger, and once the job is accepted its child with the jobId, so every line about the job carries it. */
  private log: Logger;

  constructor(private readonly shared: DiscordSurfaceShared, init: DiscordSurfaceInit) {
    // This job's upload limit travels to the daemon (max_clip_bytes, from adapter.limits) with headroom for the rest of
    // the multipart request: a clip fitted to exactly the limit can be refused (413), and only the daemon can re-fit.
    this.adapter = { ...shared.adapter, limits: { ...shared.adapter.limits, maxUploadBytes: daemonFitBytes(init.uploadLimitBytes) } };
    this.status = init.status;
    this.host = init.host;
    this.uploadLimitBytes = init.uploadLimitBytes;
    this.threadId = init.threadId;
    this.label = init.label;
    this.log = shared.logger;
  }

  get statusMessageId(): string | undefined {
    return this.status.messageId;
  }

  private head(): string {
    if (this.job) return headline(this.job, this.label);
    return this.label ? `**${this.label}**` : '';
  }

  private render(active: boolean, files?: AttachmentBuilder[]): StatusPayload {
    const lines = [this.head(), this.startedText, this.stateLine, this.previewNote].filter((l): l is string => Boolean(l));
    return {
      content: truncate(lines.join('\n'), MAX_CONTENT),
      components: active && this.job ? [cancelRow(this.job.jobId)] : [],
      files,
    };
  }

  /**
   * Every change of the status message goes through here: one edit per minUpdateIntervalMs at most, whoever asks
   * (the core throttles its updates, but accepted() and the final "done" edit come on their own).
   */
  private async edit(payload: StatusPayload) {
    const wait = this.lastEditAt + this.adapter.limits.minUpdateIntervalMs - this.shared.clock.now();
    if (wait > 0) await sleep(this.shared.clock, wait);
    try {
      return await this.status.show(payload);
    } finally {
      this.lastEditAt = this.shared.clock.now();
    }
  }

  async accepted(job: AcceptedJob): Promise<void> {
    this.job = job;
    this.log = withFields(this.shared.logger, { jobId: job.jobId });
    this.status.useLogger(this.log);
    this.stateLine = '⏳ Sent to the animation daemon…';
    await this.edit(this.render(true));
  }

  async showQueued(position: number, etaSeconds: number): Promise<void> {
    this.ran = true;
    this.stateLine = queuedLine(position, etaSeconds);
    await this.edit(this.render(true));
  }

  async showStarted(info: StartedInfo): Promise<void> {
    this.ran = true;
    this.startedText = startedLine(info);
    this.stateLine = '▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱ 0% · starting';
    await this.edit(this.render(true));
  }

  async showProgress(progress: ProgressUpdate): Promise<void> {
    this.ran = true;
    this.stateLine = progressLine(progress);
    await this.edit(this.render(true));
  }

  async showPreview(image: PreviewImage): Promise<void> {
    this.ran = true;
    if (image.data.length > this.uploadLimitBytes) {
      // Previews are a courtesy: skip one that cannot be uploaded rather than failing the job.
      this.previewNote = `(preview of step ${image.step} skipped: ${megabytes(image.data.length)} is over the upload limit)`;
      await this.edit(this.render(true));
      return;
    }
    this.previewNote = undefined;
    const ext = PREVIEW_EXT[image.mimeType] ?? 'webp';
    const file = new AttachmentBuilder(image.data, { name: `preview-step${image.step}.${ext}`, description: `Preview at step ${image.step} of ${image.total}` });
    await this.edit(this.render(true, [file]));
  }

  async deliverClip(clip: ClipFile, info: ClipInfo): Promise<void> {
    // The daemon fitted the clip under uploadLimitBytes (with headroom); chooseUpload only picks what to post (file,
    // smaller format, link), and a 413 all the same narrows the limit to below what was refused (a link or a message).
    let refusedBytes: number | undefined;
    for (let attempt = 0; ; attempt++) {
      const fitted = await chooseUpload(clip, info, { limitBytes: this.uploadLimitBytes, linker: this.shared.linker, refusedBytes });
      try {
        await this.post(fitted, info);
        return;
      } catch (error) {
        // Discord measures the whole request; if it still says "too large", post something smaller (or a link).
        if (isTooLarge(error) && attempt < 2 && fitted.kind === 'file') {
          refusedBytes = Math.min(refusedBytes ?? Infinity, fitted.data.length);
          continue;
        }
        throw error;
      }
    }
  }

  private async post(fitted: UploadChoice, info: ClipInfo): Promise<void> {
    const place = await this.host.get().catch((error: unknown) => {
      this.log.warn('could not open the clip thread; the clip goes into the status message', error);
      return undefined;
    });
    const notes = [...fitted.notes, ...(place?.note ? [place.note] : [])];
    const content = clipMessage(info, fitted.kind === 'link' ? [...notes, `🔗 ${fitted.url}`] : notes);
    const files = fitted.kind === 'file' ? [new AttachmentBuilder(fitted.data, { name: fitted.fileName, description: truncate(info.prompt, 1000) })] : [];
    const components = [clipRow(info.jobId, (info.lastFrame?.length ?? 0) > 0)];

    if (place) {
      // Tie the thread to the job before the clip appears in it: a reply typed the moment the clip shows can reach the
      // bot (gateway event) before this send's HTTP response does, and must already refine this clip.
      if (place.isThread) {
        this.threadId = place.channel.id;
        this.shared.linkThread?.(place.channel.id, info.jobId);
      }
      try {
        const message = await place.channel.send({ content, files, components, allowedMentions: { parse: [], users: [info.requester.userId] } });
        this.clipMessageId = message.id;
        this.stateLine = `✅ Done: ${message.url}`;
        this.startedText = undefined;
        await this.edit(this.render(false)).catch((error: unknown) => this.log.warn('could not mark the status message done', error));
        return;
      } catch (error) {
        if (isTooLarge(error)) throw error;
        if (!isMissingPermission(error)) throw discordFailure(error, 'post the clip', 'Attach Files');
        this.log.warn('missing permission to post the clip in the thread; putting it in the status message', error);
        notes.push('I may not post in the thread here (missing **Send Messages in Threads** or **Attach Files**), so the clip is here.');
      }
    }
    // Fallback: the clip replaces the status message's preview (the interaction webhook needs no channel permission).
    try {
      const message = await this.edit({
        content: clipMessage(info, fitted.kind === 'link' ? [...notes, `🔗 ${fitted.url}`] : notes),
        components,
        files,
        ping: [info.requester.userId],
      });
      this.clipMessageId = message.id;
    } catch (error) {
      if (isTooLarge(error)) throw error;
      throw discordFailure(error, 'post the clip', 'Attach Files');
    }
  }

  async fail(error: BotError): Promise<void> {
    // A content refusal before the job ran (the daemon's PROMPT_REFUSED: the core's own filter refused before the
    // deferral) names the blocked term: said to the person alone, as the early refusals are, not in the channel.
    if (error.code === BotErrorCode.ContentRefused && !this.ran && this.status.replaceWithPrivate) {
      try {
        if (await this.status.replaceWithPrivate(truncate(failureText(error), MAX_CONTENT))) return;
      } catch (err) {
        this.log.warn('could not refuse privately; the refusal goes into the reply', err);
      }
    }
    this.stateLine = failureText(error);
    this.startedText = undefined;
    this.previewNote = undefined;
    await this.edit(this.render(false));
  }

  async cancelled(by: string): Promise<void> {
    this.stateLine = `🛑 Cancelled by ${by}.`;
    this.startedText = undefined;
    this.previewNote = undefined;
    await this.edit(this.render(false, []));
  }

  async spawn(context: SpawnContext): Promise<JobSurface> {
    const place = await this.host.get();
    const status = new ChannelStatus(place.channel, this.shared.logger);
    const surface = new DiscordJobSurface(this.shared, {
      status,
      host: this.host,
      uploadLimitBytes: this.uploadLimitBytes,
      threadId: place.isThread ? place.channel.id : undefined,
      label: context.label,
    });
    // Post right away so jobs appear in the order they were asked for.
    await surface.edit({ content: truncate(`**${context.label}**\n⏳ Starting… (asked by <@${context.requester.userId}>)`, MAX_CONTENT), components: [] });
    return surface;
  }
}
