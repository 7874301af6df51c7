// The playground's JobSurface: each call becomes an event for the page (over SSE); images and clips go into the
// media cache and travel as URLs. It is an adapter like Discord's and Slack's, on the same core.
import type { AcceptedJob, ChatAdapter, ClipFile, ClipInfo, JobSurface, PreviewImage, ProgressUpdate, SpawnContext } from '../core/adapter.ts';
import type { BotError } from '../core/errors.ts';
import { queuePlace } from '../core/format.ts';
import type { MediaCache } from './media-cache.ts';
import type { PlaygroundSession } from './session.ts';

export const playgroundAdapter: ChatAdapter = {
  platform: 'playground',
  // A local page can take frequent updates; still coalesce so a fast model does not flood the stream.
  limits: { minUpdateIntervalMs: 150, maxUploadBytes: 64 * 1024 * 1024 },
  clipFormats: ['mp4'],
  previewFormat: 'webp',
  previewMaxSide: 192,
};

/** "Variant 1 of 3", in the words of bots/core/admission.ts's spawn labels for the others. */
export function variantLabel(index: number, count: number): string {
  return `Variant ${index} of ${count}`;
}

export class PlaygroundSurface implements JobSurface {
  readonly adapter = playgroundAdapter;
  readonly bubble: string;

  constructor(
    private readonly session: PlaygroundSession,
    private readonly media: MediaCache,
    readonly threadId: string,
    private readonly label?: string,
  ) {
    this.bubble = session.newBubbleId();
  }

  async accepted(job: AcceptedJob): Promise<void> {
    // The first variant has no spawn label (the core labels the others "Variant 2 of 3"): it gets the same words.
    const label = this.label ?? (job.variant && job.variant.count > 1 ? variantLabel(job.variant.index, job.variant.count) : undefined);
    this.session.emit({ type: 'accepted', thread: this.threadId, bubble: this.bubble, label, jobId: job.jobId, prompt: job.prompt, derivedFrom: job.derivedFrom, variant: job.variant });
  }

  async showQueued(position: number, etaSeconds: number): Promise<void> {
    this.session.emit({ type: 'queued', bubble: this.bubble, position, etaSeconds, place: queuePlace(position, etaSeconds).kind });
  }

  async showProgress(p: ProgressUpdate): Promise<void> {
    this.session.emit({ type: 'progress', bubble: this.bubble, step: p.step, total: p.total, stage: p.stage, etaSeconds: p.etaSeconds });
  }

  async showPreview(image: PreviewImage): Promise<void> {
    const id = this.media.put(image.data, image.mimeType);
    this.session.emit({ type: 'preview', bubble: this.bubble, url: `/media/${id}`, step: image.step, total: image.total });
  }

  async deliverClip(clip: ClipFile, info: ClipInfo): Promise<void> {
    const id = this.media.put(clip.data, clip.mimeType);
    // The last frame stays on the server (Extend reads it from the job); the page only learns that it can extend.
    const { requester: _requester, alternatives: _alternatives, lastFrame, ...shown } = info;
    this.session.emit({ type: 'clip', bubble: this.bubble, url: `/media/${id}`, mimeType: clip.mimeType, info: { ...shown, fileName: clip.fileName, bytes: clip.data.length, extendable: (lastFrame?.length ?? 0) > 0 } });
  }

  async fail(error: BotError): Promise<void> {
    this.session.emit({ type: 'fail', thread: this.threadId, bubble: this.bubble, label: this.label, message: error.message, code: error.code });
  }

  async cancelled(by: string): Promise<void> {
    this.session.emit({ type: 'cancelled', bubble: this.bubble, by });
  }

  async spawn(context: SpawnContext): Promise<JobSurface> {
    return new PlaygroundSurface(this.session, this.media, this.threadId, context.label);
  }
}
