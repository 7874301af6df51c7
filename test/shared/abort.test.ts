// shared/abort.ts raceAbort, the one wait-unless-called-off helper of `npm start` (app/start-abort.ts untilAborted)
// and the Slack front-end's start: the step's value when it wins, the caller's coded error when the signal aborts
// (before or during), and no abort listener left behind on a long-lived signal.
import { describe, expect, it } from 'vitest';
import { StartAbortedError, untilAborted } from '../../app/start-abort.ts';
import { SlackStartAbortedError } from '../../bots/slack/auth-check.ts';
import { raceAbort } from '../../shared/abort.ts';

/** A signal that counts its live 'abort' listeners. */
function countingSignal(): { controller: AbortController; live: () => number } {
  const controller = new AbortController();
  let live = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  const remove = controller.signal.removeEventListener.bind(controller.signal);
  controller.signal.addEventListener = ((type: string, fn: EventListenerOrEventListenerObject, opts?: AddEventListenerOptions | boolean) => {
    if (type === 'abort') live++;
    add(type, fn, opts);
  }) as typeof controller.signal.addEventListener;
  controller.signal.removeEventListener = ((type: string, fn: EventListenerOrEventListenerObject, opts?: EventListenerOptions | boolean) => {
    if (type === 'abort') live--;
    remove(type, fn, opts);
  }) as typeof controller.signal.removeEventListener;
  return { controller, live: () => live };
}

describe('raceAbort', () => {
  it("gives the step's value, and leaves no listener on the signal after 100 calls", async () => {
    const { controller, live } = countingSignal();
    for (let i = 0; i < 100; i++) expect(await raceAbort(Promise.resolve(i), controller.signal, () => new Error('x'))).toBe(i);
    await expect(raceAbort(Promise.reject(new Error('step failed')), controller.signal, () => new Error('x'))).rejects.toThrow('step failed');
    expect(live()).toBe(0);
  });

  it("throws the caller's error when the signal aborts during the step, or had already", async () => {
    const controller = new AbortController();
    const never = new Promise<number>(() => undefined);
    const waiting = raceAbort(never, controller.signal, () => new SlackStartAbortedError());
    controller.abort();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackStartAbortedError);
    expect((err as SlackStartAbortedError).code).toBe('SLACK_START_ABORTED');
    await expect(untilAborted(Promise.resolve(1), controller.signal)).rejects.toMatchObject({ code: 'START_ABORTED' });
    await expect(untilAborted(never, controller.signal)).rejects.toBeInstanceOf(StartAbortedError);
  });

  it('without a signal is the step itself', async () => {
    expect(await raceAbort(Promise.resolve('ok'), undefined, () => new Error('x'))).toBe('ok');
  });
});
