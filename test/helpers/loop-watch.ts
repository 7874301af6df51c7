// Measures how long the event loop was blocked, in a way a loaded machine does not fake: besides the raw delay
// (monitorEventLoopDelay, which also counts time the OS gave to other processes), the busiest 5 ms probe window by
// event-loop utilization, i.e. time spent running this process's callbacks, not waiting to be scheduled.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export function watchLoop(): { stop(): { maxDelayMs: number; maxBusyMs: number } } {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let prev = performance.eventLoopUtilization();
  let maxBusyMs = 0;
  const probe = setInterval(() => {
    const cur = performance.eventLoopUtilization();
    maxBusyMs = Math.max(maxBusyMs, performance.eventLoopUtilization(cur, prev).active);
    prev = cur;
  }, 5);
  return {
    stop() {
      clearInterval(probe);
      delay.disable();
      return { maxDelayMs: delay.max / 1e6, maxBusyMs };
    },
  };
}
