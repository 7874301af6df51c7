// Original file: proto/animate/v1/animator.proto


export interface Queued {
  'position'?: (number);
  'queueLength'?: (number);
  'etaSeconds'?: (number | string);
}

export interface Queued__Output {
  'position': (number);
  'queueLength': (number);
  'etaSeconds': (number);
}
