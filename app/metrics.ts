// One /metrics for the whole `npm start` process (ANIMATE_METRICS_LISTEN): the embedded daemon's registry and the
// bot core's merged (prom-client Registry.merge), so a scrape sees jobs from both sides of the wire at one address.
// With a remote daemon (ANIMATE_DAEMON_ADDRESS) only the bots' metrics are here; the daemon serves its own.
import { Registry } from 'prom-client';
import { startMetricsServer, type RunningMetricsServer } from '../shared/metrics/server.ts';

export interface AppMetricsOptions {
  /** HOST:PORT (ANIMATE_METRICS_LISTEN); port 0 picks a free one. */
  listen: string;
  /** The registries to serve together; their metric names must not overlap (only one may carry the process metrics). */
  registries: readonly Registry[];
  /** /healthz answers 200 while this says so. */
  healthy: () => boolean;
}

export async function startAppMetrics(options: AppMetricsOptions): Promise<RunningMetricsServer> {
  const merged = Registry.merge([...options.registries]);
  return startMetricsServer({ listen: options.listen, metrics: { text: () => merged.metrics(), contentType: merged.contentType }, healthy: options.healthy });
}
