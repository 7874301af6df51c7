// Job admission and ordering. p-queue bounds how many jobs run at once; which job a free slot takes is decided
// at that moment, fairly between requesters: the requester with the fewest running jobs goes first, ties go to
// whoever was served least recently, so one person's ten requests never starve another's one.
import PQueue from 'p-queue';
import { QueueFullError } from '../errors.ts';

export interface FairSchedulerOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most (running ones not counted). */
  maxQueued: number;
  /** Jobs one requester may have waiting. */
  maxQueuedPerOwner: number;
  /** Injected clock (ms). */
  now?: () => number;
}

export interface SchedulableJob {
  id: string;
  /** Fair-share key: the requester (platform + user). */
  owner: string;
  run(): Promise<void>;
  /** Called with the job's place in line whenever it changes (1 = next to start). */
  onPosition(position: number, queueLength: number, etaSeconds: number): void;
}

export class FairScheduler {
  private readonly queue: PQueue;
  private readonly waiting = new Map<string, SchedulableJob[]>();
  private readonly runningByOwner = new Map<string, number>();
  private readonly lastServed = new Map<string, number>();
  private readonly lastPositions = new Map<string, number>();
  private serveCounter = 0;
  private averageJobMs = 3000;
  private readonly now: () => number;

  constructor(private readonly options: FairSchedulerOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.now = options.now ?? (() => performance.now());
  }

  get queuedCount(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  get runningCount(): number {
    let n = 0;
    for (const c of this.runningByOwner.values()) n += c;
    return n;
  }

  /** Seconds until a new job would start, for RESOURCE_EXHAUSTED retry hints and queue ETAs. */
  estimateWaitMs(position: number): number {
    const ahead = position - 1 + Math.max(0, this.runningCount - this.options.concurrency + 1);
    return Math.ceil(ahead / this.options.concurrency) * this.averageJobMs;
  }

  enqueue(job: SchedulableJob): void {
    if (this.queuedCount >= this.options.maxQueued) {
      throw new QueueFullError(`the queue is full (${this.options.maxQueued} waiting)`, this.estimateWaitMs(2));
    }
    const mine = this.waiting.get(job.owner) ?? [];
    if (mine.length >= this.options.maxQueuedPerOwner) {
      throw new QueueFullError(`you already have ${mine.length} requests waiting (at most ${this.options.maxQueuedPerOwner})`, this.estimateWaitMs(mine.length));
    }
    mine.push(job);
    this.waiting.set(job.owner, mine);
    this.publishPositions();
    void this.queue.add(() => this.runNext());
  }

  /** Removes a job that has not started. Returns false if it is not waiting. */
  remove(id: string): boolean {
    for (const [owner, list] of this.waiting) {
      const i = list.findIndex((j) => j.id === id);
      if (i >= 0) {
        list.splice(i, 1);
        if (list.length === 0) this.waiting.delete(owner);
        this.lastPositions.delete(id);
        this.publishPositions();
        return true;
      }
    }
    return false;
  }

  /** The order in which waiting jobs would start, simulating the fair choice. */
  projectedOrder(): SchedulableJob[] {
    const running = new Map(this.runningByOwner);
    const served = new Map(this.lastServed);
    const lists = new Map<string, SchedulableJob[]>([...this.waiting].map(([o, l]) => [o, [...l]]));
    const order: SchedulableJob[] = [];
    let counter = this.serveCounter;
    for (;;) {
      const owner = this.pickOwner(lists, running, served);
      if (owner === undefined) break;
      const job = lists.get(owner)!.shift()!;
      order.push(job);
      // A job that starts counts as running for its owner until it ends; for the projection, assume it is still running.
      running.set(owner, (running.get(owner) ?? 0) + 1);
      served.set(owner, ++counter);
    }
    return order;
  }

  private pickOwner(lists: Map<string, SchedulableJob[]>, running: Map<string, number>, served: Map<string, number>): string | undefined {
    let best: string | undefined;
    for (const [owner, list] of lists) {
      if (list.length === 0) continue;
      if (best === undefined) {
        best = owner;
        continue;
      }
      const r = running.get(owner) ?? 0;
      const rb = running.get(best) ?? 0;
      if (r < rb || (r === rb && (served.get(owner) ?? -1) < (served.get(best) ?? -1))) best = owner;
    }
    return best;
  }

  private publishPositions(): void {
    const order = this.projectedOrder();
    order.forEach((job, i) => {
      const position = i + 1;
      if (this.lastPositions.get(job.id) === position) return;
      this.lastPositions.set(job.id, position);
      job.onPosition(position, order.length, this.estimateWaitMs(position) / 1000);
    });
  }

  private async runNext(): Promise<void> {
    const owner = this.pickOwner(this.waiting, this.runningByOwner, this.lastServed);
    if (owner === undefined) return; // its job was removed while waiting
    const list = this.waiting.get(owner)!;
    const job = list.shift()!;
    if (list.length === 0) this.waiting.delete(owner);
    this.lastPositions.delete(job.id);
    this.runningByOwner.set(owner, (this.runningByOwner.get(owner) ?? 0) + 1);
    this.lastServed.set(owner, ++this.serveCounter);
    this.publishPositions();
    const started = this.now();
    try {
      await job.run();
    } finally {
      const elapsed = this.now() - started;
      // Exponential moving average of job time: ETAs follow the machine and the models in use.
      this.averageJobMs = this.averageJobMs * 0.7 + elapsed * 0.3;
      const left = (this.runningByOwner.get(owner) ?? 1) - 1;
      if (left <= 0) this.runningByOwner.delete(owner);
      else this.runningByOwner.set(owner, left);
      this.publishPositions();
    }
  }

  /** Resolves when nothing runs or waits. */
  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }
}
