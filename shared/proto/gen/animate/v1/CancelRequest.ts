// Original file: proto/animate/v1/animator.proto

import type { Requester as _animate_v1_Requester, Requester__Output as _animate_v1_Requester__Output } from '../../animate/v1/Requester.ts';

export interface CancelRequest {
  'requestId'?: (string);
  'reason'?: (string);
  'requester'?: (_animate_v1_Requester | null);
}

export interface CancelRequest__Output {
  'requestId': (string);
  'reason': (string);
  'requester': (_animate_v1_Requester__Output | null);
}
