// Loads the wire contract from proto/ at run time. The static types in ./gen are generated from the same
// files by `npm run gen:proto` (proto-loader-gen-types), so the types are never written by hand.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ProtoGrpcType as AnimatorProto } from '../proto/gen/animator.ts';
import type { ProtoGrpcType as HealthProto } from '../proto/gen/health.ts';

export const PROTO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

/** The same options the type generator is run with (see package.json `gen:proto`). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: { animator: AnimatorProto; health: HealthProto } | undefined;

export function loadProtos(): { animator: AnimatorProto; health: HealthProto } {
  if (cached) return cached;
  const animatorDef = protoLoader.loadSync('animate/v1/animator.proto', PROTO_LOADER_OPTIONS);
  const healthDef = protoLoader.loadSync('grpc/health/v1/health.proto', PROTO_LOADER_OPTIONS);
  cached = {
    animator: grpc.loadPackageDefinition(animatorDef) as unknown as AnimatorProto,
    health: grpc.loadPackageDefinition(healthDef) as unknown as HealthProto,
  };
  return cached;
}
