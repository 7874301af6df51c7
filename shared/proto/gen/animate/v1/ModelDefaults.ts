// Original file: proto/animate/v1/animator.proto


export interface ModelDefaults {
  'steps'?: (number);
  'guidanceScale'?: (number | string);
  'frames'?: (number);
  'width'?: (number);
  'height'?: (number);
  'fps'?: (number);
  'scheduler'?: (string);
  'previewEveryNSteps'?: (number);
}

export interface ModelDefaults__Output {
  'steps': (number);
  'guidanceScale': (number);
  'frames': (number);
  'width': (number);
  'height': (number);
  'fps': (number);
  'scheduler': (string);
  'previewEveryNSteps': (number);
}
