// Original file: proto/animate/v1/animator.proto


export interface CancelRequest {
  'requestId'?: (string);
  'reason'?: (string);
}

export interface CancelRequest__Output {
  'requestId': (string);
  'reason': (string);
}
