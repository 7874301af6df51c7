// Original file: proto/animate/v1/animator.proto

import type { ModelDefaults as _animate_v1_ModelDefaults, ModelDefaults__Output as _animate_v1_ModelDefaults__Output } from '../../animate/v1/ModelDefaults';
import type { ModelLimits as _animate_v1_ModelLimits, ModelLimits__Output as _animate_v1_ModelLimits__Output } from '../../animate/v1/ModelLimits';

export interface ModelInfo {
  'name'?: (string);
  'hash'?: (string);
  'description'?: (string);
  'defaults'?: (_animate_v1_ModelDefaults | null);
  'limits'?: (_animate_v1_ModelLimits | null);
  'vocabulary'?: (string)[];
  'examplePrompts'?: (string)[];
  'schedulers'?: (string)[];
}

export interface ModelInfo__Output {
  'name': (string);
  'hash': (string);
  'description': (string);
  'defaults': (_animate_v1_ModelDefaults__Output | null);
  'limits': (_animate_v1_ModelLimits__Output | null);
  'vocabulary': (string)[];
  'examplePrompts': (string)[];
  'schedulers': (string)[];
}
