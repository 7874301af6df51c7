// What the command lines print for an error: one line of words for people. A CodedError's message is already that
// (the client raises one per failed call, with the daemon's code); a raw gRPC status from an older client path is
// cut to its details, without grpc-js's channel wording ("No connection established. Last error: …", a dangling
// "Resolution note:"), which names grpc-js internals rather than what to do. The cleanup is the client's own
// (shared/rpc/rpc-error.ts withoutGrpcChannelText), so the CLIs and the bots word a failure alike.
import { isCodedError } from '../../shared/errors.ts';
import { withoutGrpcChannelText } from '../../shared/rpc/rpc-error.ts';

/** The line to print after "animate: " for any thrown value. */
export function errorLine(err: unknown): string {
  if (isCodedError(err)) return withoutGrpcChannelText(err.message);
  if (typeof err === 'object' && err !== null && typeof (err as { details?: unknown }).details === 'string' && typeof (err as { code?: unknown }).code === 'number') {
    return withoutGrpcChannelText((err as { details: string }).details);
  }
  return err instanceof Error ? withoutGrpcChannelText(err.message) : String(err);
}
