// Original file: proto/animate/v1/animator.proto


export interface ModelLimits {
  'minSteps'?: (number);
  'maxSteps'?: (number);
  'minGuidance'?: (number | string);
  'maxGuidance'?: (number | string);
  'minFrames'?: (number);
  'maxFrames'?: (number);
  'temporalFactor'?: (number);
  'sizeMultiple'?: (number);
  'minSide'?: (number);
  'maxSide'?: (number);
  'minFps'?: (number);
  'maxFps'?: (number);
  'aspects'?: (string)[];
  'maxPromptChars'?: (number);
}

export interface ModelLimits__Output {
  'minSteps': (number);
  'maxSteps': (number);
  'minGuidance': (number);
  'maxGuidance': (number);
  'minFrames': (number);
  'maxFrames': (number);
  'temporalFactor': (number);
  'sizeMultiple': (number);
  'minSide': (number);
  'maxSide': (number);
  'minFps': (number);
  'maxFps': (number);
  'aspects': (string)[];
  'maxPromptChars': (number);
}
