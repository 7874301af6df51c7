// GenerateEvents as they travel through Redis between a worker and the gateway that relays them: protobuf bytes of
// the wire's own message (proto/animate/v1/animator.proto), so previews are not inflated and no field is written twice.
import protobuf from 'protobufjs';
import path from 'node:path';
import { PROTO_ROOT } from '../../shared/rpc/proto.ts';
import type { GenerateEvent } from '../../shared/rpc/types.ts';

let eventType: protobuf.Type | undefined;

function type(): protobuf.Type {
  if (eventType) return eventType;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  root.loadSync('animate/v1/animator.proto');
  eventType = root.lookupType('animate.v1.GenerateEvent');
  return eventType;
}

export function encodeEvent(event: GenerateEvent): Buffer {
  const t = type();
  return Buffer.from(t.encode(t.fromObject(event as Record<string, unknown>)).finish());
}

/** The event as the daemon's own Job holds it (the same shape the Generate stream writes). */
export function decodeEvent(bytes: Uint8Array): GenerateEvent {
  const t = type();
  const object = t.toObject(t.decode(bytes), { longs: String, enums: String, bytes: Buffer, defaults: false, oneofs: false });
  return object as GenerateEvent;
}
