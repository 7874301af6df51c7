// A request whose bytes do not decode is the caller's mistake, but grpc-js answers it with INTERNAL ("Error
// deserializing request"), which reads as a fault of the daemon and names nothing. This wraps a service so that such
// a call is refused with INVALID_ARGUMENT naming the method and what did not decode, through toServiceError like
// every other refusal (short, capped, with the animate-error-code trailer).
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../errors.ts';
import { toServiceError } from './animator-service.ts';
import { excerpt } from '../excerpt.ts';
import { requestTypeOf, undecodableField } from './undecodable-field.ts';

const MALFORMED = Symbol('malformed request');
interface Malformed {
  readonly [MALFORMED]: { why: string; field: string | undefined };
}

const isMalformed = (request: unknown): request is Malformed => typeof request === 'object' && request !== null && MALFORMED in request;

type AnyHandler = (call: { request?: unknown; emit(event: 'error', err: unknown): boolean }, callback?: (err: unknown) => void) => void;

function refusal(path: string, { why, field }: Malformed[typeof MALFORMED]) {
  const method = path.slice(path.lastIndexOf('/') + 1);
  const what = field ? `its bytes do not decode as the type the proto declares for it` : `the ${method} request could not be decoded`;
  return toServiceError(new InvalidArgumentError(field ?? 'request', `${what} (${excerpt(why, 120)}); send a message of the type proto/animate/v1/animator.proto declares`));
}

/**
 * The service definition with decoding failures turned into a marker, and its handlers refusing a marked request.
 * Only methods with a single request message are wrapped (all of Animator's and health's).
 */
export function refuseMalformedRequests<H extends object>(definition: grpc.ServiceDefinition, handlers: H): { definition: grpc.ServiceDefinition; handlers: H } {
  const wrappedDefinition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const wrappedHandlers: Record<string, unknown> = { ...(handlers as Record<string, unknown>) };
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream) {
      wrappedDefinition[name] = method;
      continue;
    }
    wrappedDefinition[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          const type = requestTypeOf(method.path);
          const field = type ? undecodableField(type, bytes) : undefined;
          return { [MALFORMED]: { why: err instanceof Error ? err.message : String(err), field } } satisfies Malformed;
        }
      },
    };
    const handler = (handlers as Record<string, AnyHandler | undefined>)[name];
    if (!handler) continue;
    wrappedHandlers[name] = ((call, callback) => {
      if (!isMalformed(call.request)) return handler(call, callback);
      const error = refusal(method.path, call.request[MALFORMED]);
      if (method.responseStream) call.emit('error', error);
      else callback?.(error);
    }) satisfies AnyHandler;
  }
  return { definition: wrappedDefinition, handlers: wrappedHandlers as H };
}
