// Original file: proto/animate/v1/animator.proto

import type { ModelInfo as _animate_v1_ModelInfo, ModelInfo__Output as _animate_v1_ModelInfo__Output } from '../../animate/v1/ModelInfo.ts';

export interface ListModelsResponse {
  'models'?: (_animate_v1_ModelInfo)[];
  'defaultModel'?: (string);
}

export interface ListModelsResponse__Output {
  'models': (_animate_v1_ModelInfo__Output)[];
  'defaultModel': (string);
}
