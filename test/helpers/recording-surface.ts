// A JobSurface that records what the core asked it to show: the edge of the bot core in tests (no platform).
import type { AcceptedJob, ChatAdapter, ClipFile, ClipInfo, JobSurface, PreviewImage, ProgressUpdate, SpawnContext, StartedInfo } from '../../bots/core/adapter.ts';
import type { BotError } from '../../bots/core/errors.ts';

export type Recorded =
  | { kind: 'accepted'; job: AcceptedJob }
  | { kind: 'queued'; position: number; etaSeconds: number }
  | { kind: 'started'; info: StartedInfo }
  | { kind: 'progress'; progress: ProgressUpdate }
  | { kind: 'preview'; image: PreviewImage }
  | { kind: 'clip'; clip: ClipFile; info: ClipInfo }
  | { kind: 'fail'; error: BotError }
  | { kind: 'cancelled'; by: string };

export const testAdapter = (minUpdateIntervalMs = 0): ChatAdapter => ({
  platform: 'plugin',
  limits: { minUpdateIntervalMs, maxUploadBytes: 8 * 1024 * 1024 },
});

export class RecordingSurface implements JobSurface {
  readonly events: Recorded[] = [];
  readonly children: RecordingSurface[] = [];
  readonly spawnedWith: SpawnContext[] = [];
  private endWaiters: Array<() => void> = [];
  private progressWaiters: Array<() => void> = [];
  /** When set, deliverClip throws this (to test that a failed post still ends with a message). */
  failDelivery: Error | undefined;

  constructor(
    readonly adapter: ChatAdapter = testAdapter(),
    public threadId: string | undefined = undefined,
  ) {}

  private push(e: Recorded): Promise<void> {
    this.events.push(e);
    if (e.kind === 'progress') for (const w of this.progressWaiters.splice(0)) w();
    if (e.kind === 'clip' || e.kind === 'fail' || e.kind === 'cancelled') for (const w of this.endWaiters.splice(0)) w();
    return Promise.resolve();
  }

  accepted(job: AcceptedJob) {
    return this.push({ kind: 'accepted', job });
  }
  showQueued(position: number, etaSeconds: number) {
    return this.push({ kind: 'queued', position, etaSeconds });
  }
  showStarted(info: StartedInfo) {
    return this.push({ kind: 'started', info });
  }
  showProgress(progress: ProgressUpdate) {
    return this.push({ kind: 'progress', progress });
  }
  showPreview(image: PreviewImage) {
    return this.push({ kind: 'preview', image });
  }
  async deliverClip(clip: ClipFile, info: ClipInfo) {
    if (this.failDelivery) throw this.failDelivery;
    return this.push({ kind: 'clip', clip, info });
  }
  fail(error: BotError) {
    return this.push({ kind: 'fail', error });
  }
  cancelled(by: string) {
    return this.push({ kind: 'cancelled', by });
  }
  async spawn(context: SpawnContext): Promise<JobSurface> {
    this.spawnedWith.push(context);
    const child = new RecordingSurface(this.adapter, this.threadId);
    this.children.push(child);
    return child;
  }

  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
  last(): Recorded | undefined {
    return this.events.at(-1);
  }
  get clip(): Extract<Recorded, { kind: 'clip' }> | undefined {
    return this.events.find((e): e is Extract<Recorded, { kind: 'clip' }> => e.kind === 'clip');
  }
  get failure(): BotError | undefined {
    return this.events.find((e): e is Extract<Recorded, { kind: 'fail' }> => e.kind === 'fail')?.error;
  }
  get ended(): boolean {
    return this.events.some((e) => e.kind === 'clip' || e.kind === 'fail' || e.kind === 'cancelled');
  }
  /** Resolves at the first progress event. */
  firstProgress(): Promise<void> {
    if (this.events.some((e) => e.kind === 'progress')) return Promise.resolve();
    return new Promise((r) => this.progressWaiters.push(r));
  }
  end(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((r) => this.endWaiters.push(r));
  }
}
