// Original file: proto/animate/v1/animator.proto


export interface CancelResponse {
  'cancelled'?: (boolean);
  'state'?: (string);
}

export interface CancelResponse__Output {
  'cancelled': (boolean);
  'state': (string);
}
