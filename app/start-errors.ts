// The front door's own start-up failure, coded like every other (shared/errors.ts CodedError): a caller of startAll
// (a host process, a test) branches on NO_FRONT_END_STARTED rather than on the message's words.
import { CodedError } from '../shared/errors.ts';

/** Every front-end that was on failed to start, so a daemon nobody can reach would run alone: the message lists each reason. */
export class NoFrontEndStartedError extends CodedError<'NO_FRONT_END_STARTED'> {
  constructor(message: string) {
    super('NO_FRONT_END_STARTED', message);
  }
}
