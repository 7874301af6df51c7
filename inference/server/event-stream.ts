// Writes one job's events to one Generate call with backpressure. The call's write() result and 'drain' are
// honoured, and at most `maxInFlightBytes` are handed to the call before gRPC reports them written: grpc-js buffers
// up to 16 messages per call before write() returns false, which for clip chunks would be megabytes per stream.
// A stream whose peer never reads therefore holds about one chunk; the rest stays in the job's shared history.
import type * as grpc from '@grpc/grpc-js';
import type { GenerateEvent, GenerateRequest__Output } from '../../shared/rpc/types.ts';
import type { DaemonError } from '../errors.ts';
import { eventBytes, type Job } from './job.ts';

/** Bytes handed to one call and not yet written out, at most (one clip chunk fits). Default 64 KiB. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024;

export interface EventStreamOptions {
  /** See DEFAULT_MAX_IN_FLIGHT_BYTES. */
  maxInFlightBytes?: number;
  /** The job ended and everything was written: end the call with this outcome (undefined: success). */
  onEnd(outcome: DaemonError | undefined): void;
}

export interface EventStream {
  /** Stops writing and lets go of the job (the caller went away). */
  stop(): void;
}

export function streamJobEvents(call: grpc.ServerWritableStream<GenerateRequest__Output, GenerateEvent>, job: Job, options: EventStreamOptions): EventStream {
  const maxInFlight = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
  let inFlight = 0;
  let waitingForDrain = false;
  let stopped = false;
  let pumping = false;

  const pump = (): void => {
    // Writes complete synchronously at times: a flag instead of recursion keeps the stack flat.
    if (pumping) return;
    pumping = true;
    try {
      while (!stopped && !waitingForDrain && inFlight < maxInFlight) {
        const event = cursor.read();
        if (!event) {
          if (cursor.done) {
            const outcome = cursor.outcome;
            stop();
            options.onEnd(outcome);
          }
          return;
        }
        const size = eventBytes(event);
        inFlight += size;
        const accepted = call.write(event, () => {
          inFlight -= size;
          pump();
        });
        if (!accepted) {
          waitingForDrain = true;
          call.once('drain', () => {
            waitingForDrain = false;
            pump();
          });
        }
      }
    } finally {
      pumping = false;
    }
  };

  const cursor = job.cursor(() => pump());
  const stop = (): void => {
    stopped = true;
    cursor.close();
  };
  pump();
  return { stop };
}
