// Original file: proto/animate/v1/animator.proto

import type { Timings as _animate_v1_Timings, Timings__Output as _animate_v1_Timings__Output } from '../../animate/v1/Timings.ts';

export interface Done {
  'seed'?: (number);
  'model'?: (string);
  'modelHash'?: (string);
  'timings'?: (_animate_v1_Timings | null);
  'unknownWords'?: (string)[];
  'prompt'?: (string);
  'steps'?: (number);
  'guidanceScale'?: (number | string);
  'frames'?: (number);
  'width'?: (number);
  'height'?: (number);
  'fps'?: (number);
  'scheduler'?: (string);
  'lastFrame'?: (Buffer | Uint8Array | string);
  'style'?: (string);
  'styleStrength'?: (number | string);
}

export interface Done__Output {
  'seed': (number);
  'model': (string);
  'modelHash': (string);
  'timings': (_animate_v1_Timings__Output | null);
  'unknownWords': (string)[];
  'prompt': (string);
  'steps': (number);
  'guidanceScale': (number);
  'frames': (number);
  'width': (number);
  'height': (number);
  'fps': (number);
  'scheduler': (string);
  'lastFrame': (Buffer);
  'style': (string);
  'styleStrength': (number);
}
