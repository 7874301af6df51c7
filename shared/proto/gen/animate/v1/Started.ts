// Original file: proto/animate/v1/animator.proto


export interface Started {
  'model'?: (string);
  'seed'?: (number);
  'totalSteps'?: (number);
  'frames'?: (number);
  'width'?: (number);
  'height'?: (number);
  'fps'?: (number);
  'guidanceScale'?: (number | string);
  'scheduler'?: (string);
}

export interface Started__Output {
  'model': (string);
  'seed': (number);
  'totalSteps': (number);
  'frames': (number);
  'width': (number);
  'height': (number);
  'fps': (number);
  'guidanceScale': (number);
  'scheduler': (string);
}
