// Original file: proto/animate/v1/animator.proto


export interface Timings {
  'queuedMs'?: (number | string);
  'textEncodeMs'?: (number | string);
  'denoiseMs'?: (number | string);
  'decodeMs'?: (number | string);
  'encodeMs'?: (number | string);
  'totalMs'?: (number | string);
  'perStepMs'?: (number | string);
  'firstPreviewMs'?: (number | string);
}

export interface Timings__Output {
  'queuedMs': (number);
  'textEncodeMs': (number);
  'denoiseMs': (number);
  'decodeMs': (number);
  'encodeMs': (number);
  'totalMs': (number);
  'perStepMs': (number);
  'firstPreviewMs': (number);
}
