// The metrics' own error: a gauge source (the scheduler's counts, or Redis in a cluster) that failed or did not answer
// at a scrape. It never reaches a client (the gauge reads NaN and the daemon logs it), so its code is not one of the
// wire's DaemonErrorCodes.
import { CodedError } from '../../shared/errors.ts';

export class MetricsSourceError extends CodedError<'METRICS_SOURCE_FAILED'> {
  constructor(readonly source: string, message: string, options?: { cause?: unknown }) {
    super('METRICS_SOURCE_FAILED', `metrics source ${source}: ${message}`, options);
  }
}
