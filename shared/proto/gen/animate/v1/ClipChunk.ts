// Original file: proto/animate/v1/animator.proto

import type { OutputFormat as _animate_v1_OutputFormat, OutputFormat__Output as _animate_v1_OutputFormat__Output } from '../../animate/v1/OutputFormat.ts';
import type { ClipFit as _animate_v1_ClipFit, ClipFit__Output as _animate_v1_ClipFit__Output } from '../../animate/v1/ClipFit.ts';

export interface ClipChunk {
  'format'?: (_animate_v1_OutputFormat);
  'mimeType'?: (string);
  'data'?: (Buffer | Uint8Array | string);
  'offset'?: (number);
  'totalBytes'?: (number);
  'last'?: (boolean);
  'width'?: (number);
  'height'?: (number);
  'frames'?: (number);
  'fps'?: (number);
  'fit'?: (_animate_v1_ClipFit | null);
}

export interface ClipChunk__Output {
  'format': (_animate_v1_OutputFormat__Output);
  'mimeType': (string);
  'data': (Buffer);
  'offset': (number);
  'totalBytes': (number);
  'last': (boolean);
  'width': (number);
  'height': (number);
  'frames': (number);
  'fps': (number);
  'fit': (_animate_v1_ClipFit__Output | null);
}
