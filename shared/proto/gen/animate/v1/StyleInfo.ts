// Original file: proto/animate/v1/animator.proto


export interface StyleInfo {
  'name'?: (string);
  'description'?: (string);
  'examplePrompt'?: (string);
}

export interface StyleInfo__Output {
  'name': (string);
  'description': (string);
  'examplePrompt': (string);
}
