// Measures how long the event loop was blocked, two ways: the raw delay (monitorEventLoopDelay: how late the loop got
// round to a timer, which also counts time the OS gave to other processes), and the busiest 5 ms probe window by
// event-loop utilization. eventLoopUtilization().active is wall-clock time spent outside the loop's poll phase (running
// callbacks and the loop's other phases). It is not CPU time: when the OS preempts this process in the middle of a
// callback, that time counts as active too, so a loaded machine can still inflate it; only time in the poll phase
// (waiting for I/O or a timer) counts as idle. Read it as an upper bound on how long this process's own work blocked.
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
