// Original file: proto/animate/v1/animator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelRequest as _animate_v1_CancelRequest, CancelRequest__Output as _animate_v1_CancelRequest__Output } from '../../animate/v1/CancelRequest.ts';
import type { CancelResponse as _animate_v1_CancelResponse, CancelResponse__Output as _animate_v1_CancelResponse__Output } from '../../animate/v1/CancelResponse.ts';
import type { GenerateEvent as _animate_v1_GenerateEvent, GenerateEvent__Output as _animate_v1_GenerateEvent__Output } from '../../animate/v1/GenerateEvent.ts';
import type { GenerateRequest as _animate_v1_GenerateRequest, GenerateRequest__Output as _animate_v1_GenerateRequest__Output } from '../../animate/v1/GenerateRequest.ts';
import type { ListModelsRequest as _animate_v1_ListModelsRequest, ListModelsRequest__Output as _animate_v1_ListModelsRequest__Output } from '../../animate/v1/ListModelsRequest.ts';
import type { ListModelsResponse as _animate_v1_ListModelsResponse, ListModelsResponse__Output as _animate_v1_ListModelsResponse__Output } from '../../animate/v1/ListModelsResponse.ts';

export interface AnimatorClient extends grpc.Client {
  Cancel(argument: _animate_v1_CancelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _animate_v1_CancelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _animate_v1_CancelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _animate_v1_CancelRequest, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _animate_v1_CancelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _animate_v1_CancelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _animate_v1_CancelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _animate_v1_CancelRequest, callback: grpc.requestCallback<_animate_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  
  Generate(argument: _animate_v1_GenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_animate_v1_GenerateEvent__Output>;
  Generate(argument: _animate_v1_GenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_animate_v1_GenerateEvent__Output>;
  generate(argument: _animate_v1_GenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_animate_v1_GenerateEvent__Output>;
  generate(argument: _animate_v1_GenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_animate_v1_GenerateEvent__Output>;
  
  ListModels(argument: _animate_v1_ListModelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  ListModels(argument: _animate_v1_ListModelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  ListModels(argument: _animate_v1_ListModelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  ListModels(argument: _animate_v1_ListModelsRequest, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  listModels(argument: _animate_v1_ListModelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  listModels(argument: _animate_v1_ListModelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  listModels(argument: _animate_v1_ListModelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  listModels(argument: _animate_v1_ListModelsRequest, callback: grpc.requestCallback<_animate_v1_ListModelsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AnimatorHandlers extends grpc.UntypedServiceImplementation {
  Cancel: grpc.handleUnaryCall<_animate_v1_CancelRequest__Output, _animate_v1_CancelResponse>;
  
  Generate: grpc.handleServerStreamingCall<_animate_v1_GenerateRequest__Output, _animate_v1_GenerateEvent>;
  
  ListModels: grpc.handleUnaryCall<_animate_v1_ListModelsRequest__Output, _animate_v1_ListModelsResponse>;
  
}

export interface AnimatorDefinition extends grpc.ServiceDefinition {
  Cancel: MethodDefinition<_animate_v1_CancelRequest, _animate_v1_CancelResponse, _animate_v1_CancelRequest__Output, _animate_v1_CancelResponse__Output>
  Generate: MethodDefinition<_animate_v1_GenerateRequest, _animate_v1_GenerateEvent, _animate_v1_GenerateRequest__Output, _animate_v1_GenerateEvent__Output>
  ListModels: MethodDefinition<_animate_v1_ListModelsRequest, _animate_v1_ListModelsResponse, _animate_v1_ListModelsRequest__Output, _animate_v1_ListModelsResponse__Output>
}
