// Original file: proto/animate/v1/animator.proto


export interface Progress {
  'step'?: (number);
  'totalSteps'?: (number);
  'elapsedSeconds'?: (number | string);
  'etaSeconds'?: (number | string);
  'stage'?: (string);
}

export interface Progress__Output {
  'step': (number);
  'totalSteps': (number);
  'elapsedSeconds': (number);
  'etaSeconds': (number);
  'stage': (string);
}
