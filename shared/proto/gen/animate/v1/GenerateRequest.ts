// Original file: proto/animate/v1/animator.proto

import type { OutputFormat as _animate_v1_OutputFormat, OutputFormat__Output as _animate_v1_OutputFormat__Output } from '../../animate/v1/OutputFormat.ts';
import type { PreviewOptions as _animate_v1_PreviewOptions, PreviewOptions__Output as _animate_v1_PreviewOptions__Output } from '../../animate/v1/PreviewOptions.ts';
import type { Requester as _animate_v1_Requester, Requester__Output as _animate_v1_Requester__Output } from '../../animate/v1/Requester.ts';

export interface GenerateRequest {
  'prompt'?: (string);
  'negativePrompt'?: (string);
  'seed'?: (number);
  'steps'?: (number);
  'guidanceScale'?: (number | string);
  'frames'?: (number);
  'width'?: (number);
  'height'?: (number);
  'aspect'?: (string);
  'fps'?: (number);
  'model'?: (string);
  'formats'?: (_animate_v1_OutputFormat)[];
  'preview'?: (_animate_v1_PreviewOptions | null);
  'requestId'?: (string);
  'requester'?: (_animate_v1_Requester | null);
  'upscale'?: (number);
  'scheduler'?: (string);
  'maxClipBytes'?: (number);
  'image'?: (Buffer | Uint8Array | string);
  'imageMimeType'?: (string);
  'style'?: (string);
  'styleStrength'?: (number | string);
  '_seed'?: "seed";
  '_steps'?: "steps";
  '_guidanceScale'?: "guidanceScale";
  '_frames'?: "frames";
  '_width'?: "width";
  '_height'?: "height";
  '_fps'?: "fps";
  '_upscale'?: "upscale";
  '_maxClipBytes'?: "maxClipBytes";
  '_styleStrength'?: "styleStrength";
}

export interface GenerateRequest__Output {
  'prompt': (string);
  'negativePrompt': (string);
  'seed'?: (number);
  'steps'?: (number);
  'guidanceScale'?: (number);
  'frames'?: (number);
  'width'?: (number);
  'height'?: (number);
  'aspect': (string);
  'fps'?: (number);
  'model': (string);
  'formats': (_animate_v1_OutputFormat__Output)[];
  'preview': (_animate_v1_PreviewOptions__Output | null);
  'requestId': (string);
  'requester': (_animate_v1_Requester__Output | null);
  'upscale'?: (number);
  'scheduler': (string);
  'maxClipBytes'?: (number);
  'image': (Buffer);
  'imageMimeType': (string);
  'style': (string);
  'styleStrength'?: (number);
  '_seed'?: "seed";
  '_steps'?: "steps";
  '_guidanceScale'?: "guidanceScale";
  '_frames'?: "frames";
  '_width'?: "width";
  '_height'?: "height";
  '_fps'?: "fps";
  '_upscale'?: "upscale";
  '_maxClipBytes'?: "maxClipBytes";
  '_styleStrength'?: "styleStrength";
}
