import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AnimatorClient as _animate_v1_AnimatorClient, AnimatorDefinition as _animate_v1_AnimatorDefinition } from './animate/v1/Animator.ts';
import type { CancelRequest as _animate_v1_CancelRequest, CancelRequest__Output as _animate_v1_CancelRequest__Output } from './animate/v1/CancelRequest.ts';
import type { CancelResponse as _animate_v1_CancelResponse, CancelResponse__Output as _animate_v1_CancelResponse__Output } from './animate/v1/CancelResponse.ts';
import type { ClipChunk as _animate_v1_ClipChunk, ClipChunk__Output as _animate_v1_ClipChunk__Output } from './animate/v1/ClipChunk.ts';
import type { ClipFit as _animate_v1_ClipFit, ClipFit__Output as _animate_v1_ClipFit__Output } from './animate/v1/ClipFit.ts';
import type { Done as _animate_v1_Done, Done__Output as _animate_v1_Done__Output } from './animate/v1/Done.ts';
import type { GenerateEvent as _animate_v1_GenerateEvent, GenerateEvent__Output as _animate_v1_GenerateEvent__Output } from './animate/v1/GenerateEvent.ts';
import type { GenerateRequest as _animate_v1_GenerateRequest, GenerateRequest__Output as _animate_v1_GenerateRequest__Output } from './animate/v1/GenerateRequest.ts';
import type { ListModelsRequest as _animate_v1_ListModelsRequest, ListModelsRequest__Output as _animate_v1_ListModelsRequest__Output } from './animate/v1/ListModelsRequest.ts';
import type { ListModelsResponse as _animate_v1_ListModelsResponse, ListModelsResponse__Output as _animate_v1_ListModelsResponse__Output } from './animate/v1/ListModelsResponse.ts';
import type { ModelDefaults as _animate_v1_ModelDefaults, ModelDefaults__Output as _animate_v1_ModelDefaults__Output } from './animate/v1/ModelDefaults.ts';
import type { ModelInfo as _animate_v1_ModelInfo, ModelInfo__Output as _animate_v1_ModelInfo__Output } from './animate/v1/ModelInfo.ts';
import type { ModelLimits as _animate_v1_ModelLimits, ModelLimits__Output as _animate_v1_ModelLimits__Output } from './animate/v1/ModelLimits.ts';
import type { Preview as _animate_v1_Preview, Preview__Output as _animate_v1_Preview__Output } from './animate/v1/Preview.ts';
import type { PreviewOptions as _animate_v1_PreviewOptions, PreviewOptions__Output as _animate_v1_PreviewOptions__Output } from './animate/v1/PreviewOptions.ts';
import type { Progress as _animate_v1_Progress, Progress__Output as _animate_v1_Progress__Output } from './animate/v1/Progress.ts';
import type { Queued as _animate_v1_Queued, Queued__Output as _animate_v1_Queued__Output } from './animate/v1/Queued.ts';
import type { Requester as _animate_v1_Requester, Requester__Output as _animate_v1_Requester__Output } from './animate/v1/Requester.ts';
import type { Started as _animate_v1_Started, Started__Output as _animate_v1_Started__Output } from './animate/v1/Started.ts';
import type { StyleInfo as _animate_v1_StyleInfo, StyleInfo__Output as _animate_v1_StyleInfo__Output } from './animate/v1/StyleInfo.ts';
import type { Timings as _animate_v1_Timings, Timings__Output as _animate_v1_Timings__Output } from './animate/v1/Timings.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  animate: {
    v1: {
      Animator: SubtypeConstructor<typeof grpc.Client, _animate_v1_AnimatorClient> & { service: _animate_v1_AnimatorDefinition }
      CancelRequest: MessageTypeDefinition<_animate_v1_CancelRequest, _animate_v1_CancelRequest__Output>
      CancelResponse: MessageTypeDefinition<_animate_v1_CancelResponse, _animate_v1_CancelResponse__Output>
      ClipChunk: MessageTypeDefinition<_animate_v1_ClipChunk, _animate_v1_ClipChunk__Output>
      ClipFit: MessageTypeDefinition<_animate_v1_ClipFit, _animate_v1_ClipFit__Output>
      Done: MessageTypeDefinition<_animate_v1_Done, _animate_v1_Done__Output>
      GenerateEvent: MessageTypeDefinition<_animate_v1_GenerateEvent, _animate_v1_GenerateEvent__Output>
      GenerateRequest: MessageTypeDefinition<_animate_v1_GenerateRequest, _animate_v1_GenerateRequest__Output>
      ListModelsRequest: MessageTypeDefinition<_animate_v1_ListModelsRequest, _animate_v1_ListModelsRequest__Output>
      ListModelsResponse: MessageTypeDefinition<_animate_v1_ListModelsResponse, _animate_v1_ListModelsResponse__Output>
      ModelDefaults: MessageTypeDefinition<_animate_v1_ModelDefaults, _animate_v1_ModelDefaults__Output>
      ModelInfo: MessageTypeDefinition<_animate_v1_ModelInfo, _animate_v1_ModelInfo__Output>
      ModelLimits: MessageTypeDefinition<_animate_v1_ModelLimits, _animate_v1_ModelLimits__Output>
      OutputFormat: EnumTypeDefinition
      Platform: EnumTypeDefinition
      Preview: MessageTypeDefinition<_animate_v1_Preview, _animate_v1_Preview__Output>
      PreviewFormat: EnumTypeDefinition
      PreviewOptions: MessageTypeDefinition<_animate_v1_PreviewOptions, _animate_v1_PreviewOptions__Output>
      Progress: MessageTypeDefinition<_animate_v1_Progress, _animate_v1_Progress__Output>
      Queued: MessageTypeDefinition<_animate_v1_Queued, _animate_v1_Queued__Output>
      Requester: MessageTypeDefinition<_animate_v1_Requester, _animate_v1_Requester__Output>
      Started: MessageTypeDefinition<_animate_v1_Started, _animate_v1_Started__Output>
      StyleInfo: MessageTypeDefinition<_animate_v1_StyleInfo, _animate_v1_StyleInfo__Output>
      Timings: MessageTypeDefinition<_animate_v1_Timings, _animate_v1_Timings__Output>
    }
  }
}

