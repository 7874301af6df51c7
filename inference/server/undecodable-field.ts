// Which field of a request made its bytes undecodable. grpc-js only says that decoding threw; a caller needs to know
// which field to fix. This walks the wire message field by field against the proto's declared types (protobufjs
// reflection of proto/, loaded once) and names the first field whose bytes do not parse, nested ones by path
// ("preview.max_side"). Names are the proto's (snake_case), as in every other INVALID_ARGUMENT message.
import protobuf from 'protobufjs';
import path from 'node:path';
import { PROTO_ROOT } from '../../shared/rpc/proto.ts';

let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
    r.loadSync(['animate/v1/animator.proto', 'grpc/health/v1/health.proto'], { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

/** The fully-qualified message type a method's request is, e.g. "animate.v1.GenerateRequest", or undefined. */
export function requestTypeOf(methodPath: string): protobuf.Type | undefined {
  // "/animate.v1.Animator/Generate" -> service "animate.v1.Animator", method "Generate".
  const [, service, method] = methodPath.split('/');
  if (!service || !method) return undefined;
  try {
    const svc = protoRoot().lookupService(service);
    return svc.methods[method]?.resolvedRequestType ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The path of the first field whose bytes do not parse as `type` declares (e.g. "preview" or "preview.max_side"),
 * or undefined when the fault is not inside a known field (a broken tag, an unknown field number at the top level).
 */
export function undecodableField(type: protobuf.Type, bytes: Uint8Array): string | undefined {
  return faultIn(type, bytes) ?? undefined;
}

/** The faulty field's path; null: a fault, but before any known field of this message; undefined: no fault seen. */
function faultIn(type: protobuf.Type, bytes: Uint8Array): string | null | undefined {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    let fieldNo: number;
    let wireType: number;
    try {
      const tag = reader.uint32();
      fieldNo = tag >>> 3;
      wireType = tag & 7;
    } catch {
      return null;
    }
    const field = type.fieldsById[fieldNo];
    if (field && !expectedWireTypes(field).includes(wireType)) return field.name;
    try {
      if (wireType === 2 && field?.resolvedType instanceof protobuf.Type) {
        const length = reader.uint32();
        const start = reader.pos;
        reader.skip(length);
        // A fault anywhere inside a sub-message is that field's, named as deep as it can be located.
        const inner = faultIn(field.resolvedType, bytes.subarray(start, start + length));
        if (inner) return `${field.name}.${inner}`;
        if (inner === null) return field.name;
      } else reader.skipType(wireType);
    } catch {
      return field ? field.name : null;
    }
  }
  return undefined;
}

/** The wire types a field may arrive with: its own, and length-delimited for a packed repeated scalar. */
function expectedWireTypes(field: protobuf.Field): number[] {
  if (field.resolvedType instanceof protobuf.Type) return [2];
  const scalar = field.resolvedType instanceof protobuf.Enum ? 0 : (protobuf.types.basic as Record<string, number | undefined>)[field.type];
  if (scalar === undefined) return [2]; // string, bytes
  return field.repeated ? [scalar, 2] : [scalar];
}
