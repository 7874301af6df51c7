// The core's shutdown alone (bots/core/shutdown.ts) on a ManualClock: hand-made jobs in a real ChatJobs stand for
// the running and waiting clips; each test settles them as runJob would once aborted, and reads the summary.
import { describe, expect, it } from 'vitest';
import type { Requester } from '../../bots/core/adapter.ts';
import { ManualClock, flushMicrotasks } from '../../bots/core/clock.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { ChatJobs, type JobOutcome, type JobRecord, type JobState } from '../../bots/core/jobs.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { CoreShutdown } from '../../bots/core/shutdown.ts';
import { handMadeJob } from '../helpers/core-parts.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

const ann: Requester = { platform: 'plugin', userId: 'ann', channelId: 'c' };

function setup(states: JobState[]) {
  const clock = new ManualClock();
  const jobs = new ChatJobs();
  let closedCalls = 0;
  const made = states.map((state, i) => {
    const { job, settle } = handMadeJob(`j${i}`, ann, new RecordingSurface(), { prompt: 'p', variants: 1 }, state);
    jobs.add(job, clock.now());
    // As runJob does: an aborted job ends failed with its stopReason.
    job.abort.signal.addEventListener('abort', () => {
      job.state = 'failed';
      settle({ jobId: job.id, status: 'failed', error: job.stopReason! });
    });
    return { job, settle };
  });
  const shutdown = new CoreShutdown({ jobs, clock, logger: silentLogger, onClosed: () => closedCalls++ });
  return { clock, made, shutdown, closed: () => closedCalls };
}

const deliver = (job: JobRecord, settle: (o: JobOutcome) => void) => {
  job.state = 'delivered';
  settle({ jobId: job.id, status: 'delivered', info: {} as never });
};

describe('CoreShutdown', () => {
  it('tells the waiting at once, lets the running deliver within the drain, and counts each', async () => {
    const { clock, made, shutdown, closed } = setup(['queued', 'running', 'running']);
    const summary = shutdown.close({ drainMs: 10_000 });
    expect(shutdown.closing).toBe(true);
    expect(made[0]!.job.stopReason?.code).toBe(BotErrorCode.DaemonUnavailable);
    expect(made[1]!.job.abort.signal.aborted).toBe(false);
    deliver(made[1]!.job, made[1]!.settle);
    await clock.advance(9_999);
    expect(made[2]!.job.abort.signal.aborted).toBe(false);
    await clock.advance(1);
    // The drain is over: the one still running is stopped and told.
    expect(made[2]!.job.stopReason?.message).toContain('stopped this clip before it was finished');
    expect(await summary).toEqual({ delivered: 1, toldToResend: 1, stopped: 1 });
    expect(closed()).toBe(1);
  });

  it('a second close({ drainMs: 0 }) cuts the drain short and returns the same summary', async () => {
    const { made, shutdown } = setup(['running']);
    const first = shutdown.close({ drainMs: 60_000 });
    await flushMicrotasks();
    expect(made[0]!.job.abort.signal.aborted).toBe(false);
    const second = shutdown.close({ drainMs: 0 });
    expect(second).toBe(first);
    expect(await second).toEqual({ delivered: 0, toldToResend: 0, stopped: 1 });
  });

  it('refuses a drain that is not a finite number ≥ 0', async () => {
    const { shutdown } = setup([]);
    await expect(shutdown.close({ drainMs: -1 })).rejects.toThrow(RangeError);
    expect(shutdown.closing).toBe(false);
    expect(await shutdown.close()).toEqual({ delivered: 0, toldToResend: 0, stopped: 0 });
  });
});
