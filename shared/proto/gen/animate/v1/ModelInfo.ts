// Original file: proto/animate/v1/animator.proto

import type { ModelDefaults as _animate_v1_ModelDefaults, ModelDefaults__Output as _animate_v1_ModelDefaults__Output } from '../../animate/v1/ModelDefaults.ts';
import type { ModelLimits as _animate_v1_ModelLimits, ModelLimits__Output as _animate_v1_ModelLimits__Output } from '../../animate/v1/ModelLimits.ts';
import type { StyleInfo as _animate_v1_StyleInfo, StyleInfo__Output as _animate_v1_StyleInfo__Output } from '../../animate/v1/StyleInfo.ts';

export interface ModelInfo {
  'name'?: (string);
  'hash'?: (string);
  'description'?: (string);
  'defaults'?: (_animate_v1_ModelDefaults | null);
  'limits'?: (_animate_v1_ModelLimits | null);
  'vocabulary'?: (string)[];
  'examplePrompts'?: (string)[];
  'schedulers'?: (string)[];
  'styles'?: (_animate_v1_StyleInfo)[];
  'acceptsImage'?: (boolean);
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
  'styles': (_animate_v1_StyleInfo__Output)[];
  'acceptsImage': (boolean);
}
