// gRPC server reflection (@grpc/reflection, v1 and v1alpha) for the daemon: `grpcurl -plaintext HOST:PORT list` and
// `describe` work without the proto files. It describes the very files the daemon serves (proto/animate/v1 and
// proto/grpc/health/v1, loaded with the options the types are generated with), so what reflection says and what the
// daemon answers cannot drift. Like health, it needs no token: it tells what can be called, never any data.
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { PROTO_LOADER_OPTIONS } from '../../shared/rpc/proto.ts';

/** The files reflection describes: the ones the daemon registers services from. */
export const REFLECTED_PROTO_FILES = ['animate/v1/animator.proto', 'grpc/health/v1/health.proto'] as const;

let definition: protoLoader.PackageDefinition | undefined;

/** Adds grpc.reflection.v1(alpha).ServerReflection to `server`, describing Animator and Health. */
export function addReflection(server: Pick<grpc.Server, 'addService'>): void {
  definition ??= protoLoader.loadSync([...REFLECTED_PROTO_FILES], PROTO_LOADER_OPTIONS);
  new ReflectionService(definition).addToServer(server);
}
