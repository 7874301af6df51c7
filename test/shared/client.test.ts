// The typed client's Generate stream: a reader that leaves early ends the call, so the daemon stops the job instead
// of making a clip nobody reads (grpc-js's own stream does not cancel its call when a for-await loop breaks).
import { afterEach, describe, expect, it } from 'vitest';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

let fx: FixtureDaemon | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('connectAnimator generate', () => {
  it.each(['ready channel', 'channel not yet connected'])('a reader that breaks early cancels the job on the daemon (%s)', async (when) => {
    // ~80 ms per denoiser call: a 40-step job runs for seconds unless it is cancelled.
    fx = await startFixtureDaemon({ fixture: { burnMs: 80 } });
    if (when === 'ready channel') await fx.client.listModels();
    const requestId = `leave-early-${when.replace(/\W+/g, '-')}`;
    const stream = fx.client.generate({ prompt: 'a red ball', steps: 40, seed: 1, requestId, preview: { disabled: true }, requester: { userId: 'u', platform: 'CLI' } });
    for await (const event of stream) if (event.started) break;
    // With one slot, a job sent next waits the whole 40 steps (~3 s) if the first one still runs; cancelled, it
    // starts at once. (Cancel itself cannot be the probe: it would stop the job it asks about.)
    const next = fx.client.generate({ prompt: 'a blue ball', steps: 2, seed: 2, preview: { disabled: true }, requester: { userId: 'v', platform: 'CLI' } });
    let queuedMs = Infinity;
    for await (const event of next) if (event.done) queuedMs = event.done.timings?.queuedMs ?? Infinity;
    expect(queuedMs).toBeLessThan(1500);
  }, 60_000);
});
