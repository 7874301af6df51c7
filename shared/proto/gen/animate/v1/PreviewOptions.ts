// Original file: proto/animate/v1/animator.proto

import type { PreviewFormat as _animate_v1_PreviewFormat, PreviewFormat__Output as _animate_v1_PreviewFormat__Output } from '../../animate/v1/PreviewFormat.ts';

export interface PreviewOptions {
  'disabled'?: (boolean);
  'everyNSteps'?: (number);
  'maxSide'?: (number);
  'format'?: (_animate_v1_PreviewFormat);
  '_everyNSteps'?: "everyNSteps";
  '_maxSide'?: "maxSide";
}

export interface PreviewOptions__Output {
  'disabled': (boolean);
  'everyNSteps'?: (number);
  'maxSide'?: (number);
  'format': (_animate_v1_PreviewFormat__Output);
  '_everyNSteps'?: "everyNSteps";
  '_maxSide'?: "maxSide";
}
