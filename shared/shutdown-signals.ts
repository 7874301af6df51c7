// One Ctrl-C drains, a second one forces: for `npm start` and `npm run daemon`.
//
// Why this exists: a terminal's Ctrl-C sends SIGINT to the whole process group, and the launchers in that group
// (npm, which forwards SIGINT to its child) deliver more copies of that same press a few milliseconds later. Taken
// one by one, the copies looked like "Ctrl-C again to force" and force-quit a drain that had just begun. Here copies
// arriving within `collapseMs` of the first one count as that press; a signal later than that is a second press.
// Time comes from an injected clock and signals from an injected target, so the rule is tested without processes.

/** Seconds a first Ctrl-C waits for running clips (ANIMATE_DRAIN_SECONDS). Written once here, read by the settings table. */
export const DEFAULT_DRAIN_SECONDS = 30;

/** A forced stop waits at most this long (ms) for the inference worker's current call before exiting anyway. */
export const FORCE_BOUND_MS = 10_000;

/** Seconds past the drain after which a stop that has not finished is forced rather than left hanging. */
export const DRAIN_OVERRUN_S = 15;

/** Signals that arrive this close (ms) to the first one are copies of the same press (the launchers' forwarding). */
export const DEFAULT_COLLAPSE_MS = 1000;

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownSignalOptions {
  /** First press: stop taking work, finish what runs, exit. Called once. */
  onDrain(signal: NodeJS.Signals): void;
  /** Second, distinct press while draining: stop now. Called once. */
  onForce(signal: NodeJS.Signals): void;
  /** Signals that count as a press. Default SIGINT and SIGTERM. */
  signals?: readonly NodeJS.Signals[];
  /** Copies within this many ms of a press's first signal are that press. Default DEFAULT_COLLAPSE_MS (1 s). */
  collapseMs?: number;
  /** Default Date. */
  clock?: { now(): number };
  /** Default process. */
  source?: SignalSource;
}

export interface ShutdownSignals {
  /** Presses seen so far (0, 1 or 2; copies not counted). */
  readonly presses: number;
  /** Stops listening. */
  dispose(): void;
}

/** Listens for shutdown signals and turns them into at most one drain and one force. */
export function onShutdownSignals(options: ShutdownSignalOptions): ShutdownSignals {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const collapseMs = options.collapseMs ?? DEFAULT_COLLAPSE_MS;
  if (!(collapseMs >= 0)) throw new RangeError(`collapseMs must be a number of milliseconds ≥ 0, got ${collapseMs}`);
  const clock = options.clock ?? Date;
  const source = options.source ?? process;
  let presses = 0;
  let firstAt = 0;

  const listener = (signal: NodeJS.Signals) => {
    const now = clock.now();
    if (presses === 0) {
      presses = 1;
      firstAt = now;
      options.onDrain(signal);
    } else if (presses === 1 && now - firstAt > collapseMs) {
      presses = 2;
      options.onForce(signal);
    }
    // Otherwise a copy of a press already acted on (or a third press while forcing): nothing more to do.
  };
  for (const s of signals) source.on(s, listener);
  return {
    get presses() {
      return presses;
    },
    dispose() {
      for (const s of signals) source.off(s, listener);
    },
  };
}
