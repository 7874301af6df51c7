// Calling `npm start` off while it starts: Ctrl-C during start-up must stop at once, not after every front-end has
// finished (or failed) connecting, which with an unreachable platform could take its whole start timeout. startAll
// takes an AbortSignal; these helpers end the wait for the step under way (that step's front-end is then stopped,
// which calls its own connection off) and mark the start as called off, so main() exits 130 as for a forced stop.
import { raceAbort } from '../shared/abort.ts';
import { CodedError } from '../shared/errors.ts';

/** The start was called off by a signal (Ctrl-C, SIGTERM) before it finished: a CodedError (shared/errors.ts). */
export class StartAbortedError extends CodedError<'START_ABORTED'> {
  constructor() {
    super('START_ABORTED', 'Start-up was called off (Ctrl-C); what had started was stopped.');
  }
}

/** Throws StartAbortedError when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StartAbortedError();
}

/** `step`, or StartAbortedError as soon as `signal` aborts (the step itself is left to its owner to stop). */
export function untilAborted<T>(step: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return raceAbort(step, signal, () => new StartAbortedError());
}
