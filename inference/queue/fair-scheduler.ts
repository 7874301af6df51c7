// Job admission and ordering. p-queue bounds how many jobs run at once; which job a free slot takes is decided
// at that moment, fairly between requesters: the requester with the fewest running jobs goes first, ties go to
// whoever was served least recently, so one person's ten requests never starve another's one.
//
// Places in line are told in coalesced batches, not on every change: a change only marks the line dirty, one
// recompute (projection.ts, linear) runs per flush interval however many jobs came, went, started or ended, and a job
// hears of a new place at most once a second and only when the change matters (notice-policy.ts). When the queue is
// full, a person with nothing waiting takes the place of the newest job of whoever has the most waiting, and every
// refusal says when to come back from the queue's real drain time, jittered so that refused callers do not return
// together.
import PQueue from 'p-queue';
import { QueueFullError } from '../errors.ts';
import { worthTelling, type NoticePolicy } from './notice-policy.ts';
import { positionIfAdded, projectOrder, type OwnerLine } from './projection.ts';

/** Timers, injectable so that tests drive time. The defaults are unref'd: a pending notice never holds the process open. */
export interface SchedulerTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface FairSchedulerOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most (running ones not counted). */
  maxQueued: number;
  /** Jobs one requester may have waiting. */
  maxQueuedPerOwner: number;
  /** Injected clock (ms). Default performance.now. */
  now?: () => number;
  /** Injected random source in [0, 1), for the retry jitter. Default Math.random. */
  random?: () => number;
  /** Injected timers. Default setTimeout/clearTimeout, unref'd. */
  timers?: SchedulerTimers;
  /** Told of anything a job's run() throws past its own handling (the daemon logs it). Default: nothing. */
  onError?: (err: unknown) => void;
  /** A job hears of its place at most once per this many ms (the last "you are next" before it starts excepted). Default 1000. */
  noticeIntervalMs?: number;
  /** Changes are gathered this long before one recompute of the line. Default 100. */
  flushDelayMs?: number;
  /** At most this many notices go out in one turn of the event loop; the rest follow in the next. Default 100 (one costs ~0.1 ms on a gRPC stream). */
  maxNoticesPerFlush?: number;
  /** A newcomer is told its place at once while at most this many requesters wait; otherwise at the next flush. Default 64. */
  immediateNoticeMaxLines?: number;
  /** Places up to this one are told exactly. Default 10. */
  exactPositionsUpTo?: number;
  /** Further back, a place is told again once it moved by this fraction. Default 0.2. */
  relativeStep?: number;
  /** Retry hints vary by up to this fraction either way. Default 0.2. */
  retryJitter?: number;
  /** The smallest retry hint (ms). Default 500. */
  minRetryMs?: number;
  /** Job time assumed before any job has run (ms). Default 3000. */
  initialJobMs?: number;
}

const DEFAULTS = {
  now: () => performance.now(),
  random: Math.random,
  timers: {
    set: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
    clear: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
  } satisfies SchedulerTimers,
  onError: (_err: unknown) => {},
  noticeIntervalMs: 1000,
  flushDelayMs: 100,
  maxNoticesPerFlush: 100,
  immediateNoticeMaxLines: 64,
  exactPositionsUpTo: 10,
  relativeStep: 0.2,
  retryJitter: 0.2,
  minRetryMs: 500,
  initialJobMs: 3000,
} as const;

type Settings = Required<FairSchedulerOptions>;

export interface SchedulableJob {
  id: string;
  /** Fair-share key: the requester (platform + user). */
  owner: string;
  run(): Promise<void>;
  /** Called with the job's place in line when it changed enough to tell (1 = next to start), at most once a second. */
  onPosition(position: number, queueLength: number, etaSeconds: number): void;
  /** The job was dropped before it started: the queue was full and its place went to someone with nothing waiting. */
  onEvicted(error: QueueFullError): void;
}

/** A waiting job and what its requester was last told. */
interface Entry {
  job: SchedulableJob;
  line: Line;
  told: number | undefined;
  toldAt: number;
  /** Enqueue order across all requesters: the newest job of a requester is the last of its line. */
  seq: number;
}

interface Line extends OwnerLine<Entry> {
  owner: string;
  waiting: Entry[];
}

export class FairScheduler {
  private readonly queue: PQueue;
  private readonly settings: Settings;
  private readonly policy: NoticePolicy;
  private readonly lines = new Map<string, Line>();
  private readonly entries = new Map<string, Entry>();
  private readonly runningByOwner = new Map<string, number>();
  /**
   * When each requester with a job waiting or running was last served. Owners come from client-supplied ids, so an
   * owner with nothing left is forgotten (forgetIfIdle): one who returns counts as served long ago, as a newcomer does.
   */
  private readonly lastServed = new Map<string, number>();
  private serveCounter = 0;
  private arrivalCounter = 0;
  private seqCounter = 0;
  private running = 0;
  private averageJobMs: number;
  private flushTimer: unknown;
  private flushAt = Infinity;
  private closed = false;
  /** Recomputes of the line so far (tests check that changes are coalesced). */
  flushes = 0;

  constructor(options: FairSchedulerOptions) {
    this.settings = { ...DEFAULTS, ...stripUndefined(options) } as Settings;
    this.policy = { exactUpTo: this.settings.exactPositionsUpTo, relativeStep: this.settings.relativeStep };
    this.averageJobMs = this.settings.initialJobMs;
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  get queuedCount(): number {
    return this.entries.size;
  }

  get runningCount(): number {
    return this.running;
  }

  /** Running average of how long a job takes (ms). */
  get averageJobTimeMs(): number {
    return this.averageJobMs;
  }

  /** How long until the job at `position` (1 = next) starts: average job time x jobs ahead / concurrency. */
  estimateWaitMs(position: number): number {
    const { concurrency } = this.settings;
    // A job at place p waits for the p - 1 ahead of it to start, and for a slot: one more finish when all are busy.
    const ahead = position - 1 + Math.max(0, this.running - concurrency + 1);
    return (this.averageJobMs * ahead) / concurrency;
  }

  /** The retry hint for a caller refused at `position`: its drain time, jittered by +-retryJitter. */
  retryAfterMs(position: number): number {
    const { retryJitter, random, minRetryMs } = this.settings;
    const base = Math.max(minRetryMs, this.estimateWaitMs(position));
    return Math.round(base * (1 + retryJitter * (2 * random() - 1)));
  }

  /** The place a new job of `owner` would take, behind its own waiting jobs. */
  positionFor(owner: string): number {
    const line = this.lines.get(owner);
    const candidate = line
      ? { running: line.running, served: line.served, arrival: line.arrival, waitingCount: line.waiting.length }
      : { running: this.runningByOwner.get(owner) ?? 0, served: this.lastServed.get(owner) ?? -1, arrival: Infinity, waitingCount: 0 };
    return positionIfAdded(this.lines.values(), candidate, line);
  }

  enqueue(job: SchedulableJob): void {
    const mine = this.lines.get(job.owner);
    const waitingOfMine = mine?.waiting.length ?? 0;
    if (waitingOfMine >= this.settings.maxQueuedPerOwner) {
      throw new QueueFullError(`you already have ${waitingOfMine} requests waiting (at most ${this.settings.maxQueuedPerOwner})`, this.retryAfterMs(this.positionFor(job.owner)));
    }
    let evicted: Entry | undefined;
    if (this.entries.size >= this.settings.maxQueued) {
      const victim = waitingOfMine === 0 ? this.heaviestLine() : undefined;
      if (!victim) throw new QueueFullError(`the queue is full (${this.settings.maxQueued} waiting)`, this.retryAfterMs(this.positionFor(job.owner)));
      evicted = victim.waiting.at(-1)!;
      this.detach(evicted);
    }
    // With few requesters in line the newcomer hears its place at once (an O(requesters) count); with many, a count per
    // enqueue would make a burst quadratic again, so it hears at the next flush. Those it went ahead of hear then too.
    const tellNow = !this.closed && this.lines.size <= this.settings.immediateNoticeMaxLines;
    const position = tellNow ? this.positionFor(job.owner) : 0;
    const line = mine ?? this.openLine(job.owner);
    const entry: Entry = { job, line, told: tellNow ? position : undefined, toldAt: tellNow ? this.settings.now() : -Infinity, seq: this.seqCounter++ };
    line.waiting.push(entry);
    this.entries.set(job.id, entry);
    if (tellNow) job.onPosition(position, this.entries.size, this.estimateWaitMs(position) / 1000);
    this.markDirty();
    if (evicted) {
      // Told once the line is consistent again, with the place it would get now, behind its owner's other jobs.
      const owner = evicted.line.owner;
      const left = this.lines.get(owner)?.waiting.length ?? 0;
      evicted.job.onEvicted(
        new QueueFullError(
          `the queue was full (${this.settings.maxQueued} waiting) and your newest request gave its place to someone with nothing waiting (you still have ${left} waiting)`,
          this.retryAfterMs(this.positionFor(owner)),
        ),
      );
    }
    // A job's run() ends its job itself; should anything still throw, it must not become an unhandled rejection that
    // takes the daemon (and everyone's jobs) down.
    this.queue.add(() => this.runNext()).catch((err: unknown) => this.settings.onError(err));
  }

  /** Removes a job that has not started. Returns false if it is not waiting. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.detach(entry);
    this.markDirty();
    return true;
  }

  /** The order in which waiting jobs would start, if no running job ends first. */
  projectedOrder(): SchedulableJob[] {
    return projectOrder(this.lines.values()).map((e) => e.job);
  }

  /** Stops notices and their timers; running jobs go on, and waiting ones are the caller's to end. */
  close(): void {
    this.closed = true;
    this.cancelFlush();
  }

  /** Requesters whose last service is remembered (tests check that it stays bounded by those waiting or running). */
  get rememberedOwners(): number {
    return this.lastServed.size;
  }

  /** Resolves when nothing runs or waits. */
  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }

  private openLine(owner: string): Line {
    const line: Line = { owner, running: this.runningByOwner.get(owner) ?? 0, served: this.lastServed.get(owner) ?? -1, arrival: this.arrivalCounter++, waiting: [] };
    this.lines.set(owner, line);
    return line;
  }

  private detach(entry: Entry): void {
    const { line } = entry;
    const i = line.waiting.indexOf(entry);
    if (i >= 0) line.waiting.splice(i, 1);
    if (line.waiting.length === 0) {
      this.lines.delete(line.owner);
      this.forgetIfIdle(line.owner);
    }
    this.entries.delete(entry.job.id);
  }

  /** Drops what is remembered of an owner with nothing waiting and nothing running, so the map cannot grow forever. */
  private forgetIfIdle(owner: string): void {
    if (!this.lines.has(owner) && !this.runningByOwner.has(owner)) this.lastServed.delete(owner);
  }

  /** The line that gives up a place to a newcomer: the most waiting (two at least), ties to whose newest job is newest. */
  private heaviestLine(): Line | undefined {
    let best: Line | undefined;
    for (const line of this.lines.values()) {
      if (line.waiting.length < 2) continue;
      if (!best || line.waiting.length > best.waiting.length || (line.waiting.length === best.waiting.length && line.waiting.at(-1)!.seq > best.waiting.at(-1)!.seq)) best = line;
    }
    return best;
  }

  private pickLine(): Line | undefined {
    let best: Line | undefined;
    for (const line of this.lines.values()) {
      if (!best || line.running < best.running || (line.running === best.running && line.served < best.served)) best = line;
    }
    return best;
  }

  private setRunning(owner: string, delta: number): void {
    const n = (this.runningByOwner.get(owner) ?? 0) + delta;
    if (n <= 0) {
      this.runningByOwner.delete(owner);
      this.forgetIfIdle(owner);
    } else this.runningByOwner.set(owner, n);
    const line = this.lines.get(owner);
    if (line) line.running = Math.max(0, n);
    this.running += delta;
  }

  private async runNext(): Promise<void> {
    const line = this.pickLine();
    if (line === undefined) return; // its job was removed or evicted while waiting
    const entry = line.waiting[0]!;
    const { owner } = line;
    this.detach(entry);
    this.lastServed.set(owner, ++this.serveCounter);
    line.served = this.serveCounter;
    this.setRunning(owner, 1);
    // Every job hears "you are next" before it starts, even within a second of its last notice: the one exception to the rate.
    if (entry.told !== 1 && !this.closed) entry.job.onPosition(1, this.entries.size + 1, 0);
    this.markDirty();
    const started = this.settings.now();
    try {
      await entry.job.run();
    } finally {
      const elapsed = this.settings.now() - started;
      // Exponential moving average of job time: ETAs and retry hints follow the machine and the models in use.
      this.averageJobMs = this.averageJobMs * 0.7 + elapsed * 0.3;
      this.setRunning(owner, -1);
      this.markDirty();
    }
  }

  private markDirty(): void {
    if (this.closed || this.entries.size === 0) return;
    this.scheduleFlush(this.settings.flushDelayMs);
  }

  private scheduleFlush(delayMs: number): void {
    const at = this.settings.now() + delayMs;
    if (this.flushTimer !== undefined && this.flushAt <= at) return;
    this.cancelFlush();
    this.flushAt = at;
    this.flushTimer = this.settings.timers.set(() => {
      this.flushTimer = undefined;
      this.flushAt = Infinity;
      this.flush();
    }, delayMs);
  }

  private cancelFlush(): void {
    if (this.flushTimer !== undefined) this.settings.timers.clear(this.flushTimer);
    this.flushTimer = undefined;
    this.flushAt = Infinity;
  }

  /** One recompute of the line; tells the jobs whose place changed enough and whose last notice is old enough. */
  private flush(): void {
    if (this.closed) return;
    this.flushes++;
    const order = projectOrder(this.lines.values());
    const now = this.settings.now();
    const { noticeIntervalMs, maxNoticesPerFlush, flushDelayMs } = this.settings;
    let budget = maxNoticesPerFlush;
    let nextDue = Infinity;
    for (let i = 0; i < order.length; i++) {
      const entry = order[i]!;
      const position = i + 1;
      if (entry.told !== undefined && !worthTelling(entry.told, position, this.policy)) continue;
      const due = entry.toldAt + noticeIntervalMs;
      if (due > now) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      if (budget-- <= 0) {
        // Too many to tell in one turn: the rest (further back) follow right after other work had its turn.
        this.scheduleFlush(0);
        return;
      }
      entry.told = position;
      entry.toldAt = now;
      entry.job.onPosition(position, order.length, this.estimateWaitMs(position) / 1000);
    }
    // A change held back by the rate is told when the rate allows, in a later recompute (its place may move again).
    if (nextDue !== Infinity) this.scheduleFlush(Math.max(flushDelayMs, nextDue - now));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
