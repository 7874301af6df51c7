// Waiting for a step that an AbortSignal may call off: `npm start` (app/start-abort.ts) and the Slack front-end
// (bots/slack/front-end.ts) both wait on a start they cannot cancel from inside, and both must stop waiting the moment
// Ctrl-C arrives. Written once here; each caller passes the coded error it reports.

/**
 * `step`'s result, or `makeError()` thrown as soon as `signal` aborts (at once when it already has). The step itself
 * is left running: stopping it is its owner's job. The abort listener is removed when the race ends, so one
 * long-lived signal does not collect a listener per call.
 */
export async function raceAbort<T>(step: Promise<T>, signal: AbortSignal | undefined, makeError: () => Error): Promise<T> {
  if (!signal) return step;
  if (signal.aborted) {
    // The step still settles later; a rejection of it must not go unhandled once nobody waits on it.
    step.catch(() => undefined);
    throw makeError();
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(makeError());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([step, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
