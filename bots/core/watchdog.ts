// Liveness of one job, seen from the bot. A daemon can stop talking without the connection failing (host frozen,
// network cut without a reset, a wedged worker behind a daemon that still answers keepalive pings), and the person
// would then watch a progress bar that never moves. The watchdog gives every job
//   - a deadline: the remaining budget is `deadlineFloorMs + deadlineEtaMultiple × the latest ETA`, recomputed at
//     each Queued / Progress event, so it follows the model's own estimate and is never shorter than the floor;
//   - a stall limit: the longest silence allowed in the job's current phase, derived from the pace the daemon showed
//     (10 step times while denoising), with floors for the phases whose pace cannot be observed.
// When either passes it calls onExpire once; the job runner cancels the job and tells the person. Time comes from
// the injected Clock, so tests drive it by hand.
import type { GenerateEvent__Output } from '../../shared/rpc/types.ts';
import type { Clock, TimerHandle } from './clock.ts';

export interface LivenessOptions {
  /** Least time a job is given from its start and from every ETA it receives. Default 10 min. */
  deadlineFloorMs: number;
  /** The remaining budget adds this many times the latest ETA (queue wait or time left to denoise). Default 3. */
  deadlineEtaMultiple: number;
  /** Silence allowed before the daemon's first event (admission is immediate; connecting may wait a little). Default 30 s. */
  firstEventStallMs: number;
  /** Least silence that counts as a stall while denoising. Default 20 s. */
  stallFloorMs: number;
  /** While denoising, a silence of this many observed step times is a stall (when longer than the floor). Default 10. */
  stallStepMultiple: number;
  /**
   * Silence allowed where the bot cannot see the pace: after Started before the first step (model load, text
   * encoding) and after the last step (decoding, video encoding). Default 2 min.
   */
  unpacedStallMs: number;
  /** Least silence of a queued job before the daemon is probed. Default 60 s. */
  queueStallFloorMs: number;
  /**
   * A queued job is silent for this many times the time its position should take to move (its ETA divided by its
   * position) before the daemon is probed (when longer than the floor). Default 3.
   */
  queueStallMultiple: number;
  /** How long the probe of a silent queue (a ListModels call) may take before the daemon counts as stalled. Default 10 s. */
  probeTimeoutMs: number;
}

/** The defaults, written once. */
export const DEFAULT_LIVENESS: Readonly<LivenessOptions> = Object.freeze({
  deadlineFloorMs: 10 * 60_000,
  deadlineEtaMultiple: 3,
  firstEventStallMs: 30_000,
  stallFloorMs: 20_000,
  stallStepMultiple: 10,
  unpacedStallMs: 120_000,
  queueStallFloorMs: 60_000,
  queueStallMultiple: 3,
  probeTimeoutMs: 10_000,
});

/** Defaults merged with `partial`; throws a TypeError naming the option and what it accepts. */
export function resolveLiveness(partial: Partial<LivenessOptions> = {}): LivenessOptions {
  const out: LivenessOptions = { ...DEFAULT_LIVENESS };
  for (const [key, value] of Object.entries(partial) as Array<[keyof LivenessOptions, unknown]>) {
    if (!(key in DEFAULT_LIVENESS))
      throw new TypeError(`liveness option "${key}" is unknown; options: ${Object.keys(DEFAULT_LIVENESS).join(', ')}`);
    if (value === undefined) continue;
    const multiple = key === 'deadlineEtaMultiple' || key === 'stallStepMultiple' || key === 'queueStallMultiple';
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new TypeError(`liveness option "${key}" must be a positive ${multiple ? 'number' : 'number of milliseconds'} (got ${String(value)})`);
    out[key] = value;
  }
  return out;
}

/** Where the job is, as far as its events tell. */
export type WatchPhase = 'connecting' | 'queued' | 'starting' | 'denoising' | 'finishing';

export type WatchdogExpiry =
  | { readonly kind: 'stalled'; readonly phase: WatchPhase; readonly silentMs: number; readonly limitMs: number }
  | { readonly kind: 'deadline'; readonly phase: WatchPhase; readonly budgetMs: number; readonly elapsedMs: number };

export interface JobWatchdogOptions {
  clock: Clock;
  liveness: LivenessOptions;
  /** Called once, when the job stalled or its deadline passed. */
  onExpire: (expiry: WatchdogExpiry) => void;
  /** Asks the daemon whether it is alive (rejects if not); used before giving up on a silent queued job. */
  probe?: () => Promise<unknown>;
}

export class JobWatchdog {
  private readonly clock: Clock;
  private readonly liveness: LivenessOptions;
  private currentPhase: WatchPhase = 'connecting';
  private startedAt = 0;
  private lastEventAt = 0;
  private stallLimitMs = 0;
  private deadlineAt = Infinity;
  /** The deadline's budget when it was last set (for the log line). */
  private budgetMs = 0;
  private perStepMs = 0;
  private lastStepAt: number | undefined;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private probing = false;
  /** Events seen so far (an event during a probe proves life whatever the probe says). */
  private events = 0;
  private done = false;

  constructor(private readonly options: JobWatchdogOptions) {
    this.clock = options.clock;
    this.liveness = options.liveness;
  }

  get phase(): WatchPhase {
    return this.currentPhase;
  }

  /** For logs and tests: the silence allowed now, and when the deadline passes (epoch ms). */
  snapshot(): { phase: WatchPhase; stallLimitMs: number; deadlineAt: number; perStepMs: number } {
    return { phase: this.currentPhase, stallLimitMs: this.stallLimitMs, deadlineAt: this.deadlineAt, perStepMs: this.perStepMs };
  }

  /** Starts watching (call when the Generate call is made). */
  start(): void {
    const now = this.clock.now();
    this.startedAt = now;
    this.lastEventAt = now;
    this.stallLimitMs = this.liveness.firstEventStallMs;
    this.setBudget(now, 0);
    this.arm();
  }

  /** Every event from the daemon is a sign of life; some also tell the phase, the pace and an ETA. */
  observe(event: GenerateEvent__Output): void {
    if (this.done) return;
    const now = this.clock.now();
    this.lastEventAt = now;
    this.events++;
    const l = this.liveness;
    if (event.queued) {
      const { position, etaSeconds } = event.queued;
      this.currentPhase = 'queued';
      const perPositionMs = position > 0 ? (Math.max(0, etaSeconds) * 1000) / position : 0;
      this.stallLimitMs = Math.max(l.queueStallFloorMs, l.queueStallMultiple * perPositionMs);
      this.setBudget(now, etaSeconds);
    } else if (event.started) {
      this.currentPhase = 'starting';
      this.stallLimitMs = l.unpacedStallMs;
      this.setBudget(now, 0);
    } else if (event.progress) {
      const p = event.progress;
      const denoising = p.stage === 'denoise' || p.stage === '';
      if (denoising && p.step > 0) {
        const average = p.elapsedSeconds > 0 ? (p.elapsedSeconds * 1000) / p.step : 0;
        const interval = this.lastStepAt === undefined ? 0 : now - this.lastStepAt;
        this.lastStepAt = now;
        this.perStepMs = Math.max(average, interval);
      }
      if (denoising && (p.totalSteps === 0 || p.step < p.totalSteps)) {
        this.currentPhase = 'denoising';
        this.stallLimitMs = Math.max(l.stallFloorMs, l.stallStepMultiple * this.perStepMs);
      } else {
        // Past the last step: decoding and encoding, whose pace the bot does not see.
        this.currentPhase = 'finishing';
        this.stallLimitMs = Math.max(l.unpacedStallMs, l.stallStepMultiple * this.perStepMs);
      }
      this.setBudget(now, p.etaSeconds);
    }
    // Previews and clip chunks only prove life: the phase and its limit stay.
    this.arm();
  }

  /** Stops watching (the job ended); onExpire is not called after this. */
  stop(): void {
    this.done = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setBudget(now: number, etaSeconds: number): void {
    const eta = Number.isFinite(etaSeconds) && etaSeconds > 0 ? etaSeconds * 1000 : 0;
    this.budgetMs = this.liveness.deadlineFloorMs + this.liveness.deadlineEtaMultiple * eta;
    this.deadlineAt = now + this.budgetMs;
  }

  private dueAt(): number {
    // While a probe runs only the deadline counts; the probe's answer decides the stall.
    return this.probing ? this.deadlineAt : Math.min(this.lastEventAt + this.stallLimitMs, this.deadlineAt);
  }

  /**
   * One timer for the earliest due time. Events only push due times later (except an ETA that shrinks the deadline),
   * so most events leave the armed timer alone; when it fires early it re-arms for what is left.
   */
  private arm(): void {
    if (this.done) return;
    const due = this.dueAt();
    if (this.timer !== undefined && this.timerAt <= due) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = due;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.done) return;
    const now = this.clock.now();
    if (now >= this.deadlineAt) {
      return this.expire({ kind: 'deadline', phase: this.currentPhase, budgetMs: this.budgetMs, elapsedMs: now - this.startedAt });
    }
    if (this.probing) return this.arm();
    const silentMs = now - this.lastEventAt;
    if (silentMs < this.stallLimitMs) return this.arm();
    const stalled = { kind: 'stalled', phase: this.currentPhase, silentMs, limitMs: this.stallLimitMs } as const;
    // A queue can be silent because the job ahead is long (its ETA was a guess): ask the daemon before giving up.
    if (this.currentPhase === 'queued' && this.options.probe) return void this.probe(stalled);
    this.expire(stalled);
  }

  private async probe(stalled: Extract<WatchdogExpiry, { kind: 'stalled' }>): Promise<void> {
    this.probing = true;
    const eventsBefore = this.events;
    // The deadline still counts while the probe runs (dueAt() is the deadline alone now).
    this.arm();
    let timeout: TimerHandle | undefined;
    const alive = await Promise.race([
      Promise.resolve()
        .then(() => this.options.probe?.())
        .then(() => true, () => false),
      new Promise<boolean>((resolve) => (timeout = this.clock.setTimeout(() => resolve(false), this.liveness.probeTimeoutMs))),
    ]);
    if (timeout !== undefined) this.clock.clearTimeout(timeout);
    this.probing = false;
    if (this.done) return;
    if (this.clock.now() >= this.deadlineAt) return this.fire();
    if (!alive && this.events === eventsBefore) return this.expire({ ...stalled, silentMs: this.clock.now() - this.lastEventAt });
    // The daemon answers: the queue is just slow. Count the answer as a sign of life and keep waiting.
    this.lastEventAt = this.clock.now();
    this.arm();
  }

  private expire(expiry: WatchdogExpiry): void {
    if (this.done) return;
    this.stop();
    this.options.onExpire(expiry);
  }
}
