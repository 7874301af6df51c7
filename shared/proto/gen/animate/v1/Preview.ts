// Original file: proto/animate/v1/animator.proto


export interface Preview {
  'step'?: (number);
  'totalSteps'?: (number);
  'image'?: (Buffer | Uint8Array | string);
  'mimeType'?: (string);
  'width'?: (number);
  'height'?: (number);
  'frames'?: (number);
}

export interface Preview__Output {
  'step': (number);
  'totalSteps': (number);
  'image': (Buffer);
  'mimeType': (string);
  'width': (number);
  'height': (number);
  'frames': (number);
}
