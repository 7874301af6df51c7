// Original file: proto/animate/v1/animator.proto


export interface ClipFit {
  'limitBytes'?: (number);
  'originalBytes'?: (number);
  'qualityStep'?: (number);
  'downscale'?: (number);
  'overLimit'?: (boolean);
}

export interface ClipFit__Output {
  'limitBytes': (number);
  'originalBytes': (number);
  'qualityStep': (number);
  'downscale': (number);
  'overLimit': (boolean);
}
