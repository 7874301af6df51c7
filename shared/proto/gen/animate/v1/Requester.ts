// Original file: proto/animate/v1/animator.proto

import type { Platform as _animate_v1_Platform, Platform__Output as _animate_v1_Platform__Output } from '../../animate/v1/Platform.ts';

export interface Requester {
  'userId'?: (string);
  'channelId'?: (string);
  'platform'?: (_animate_v1_Platform);
  'serverId'?: (string);
  'displayName'?: (string);
}

export interface Requester__Output {
  'userId': (string);
  'channelId': (string);
  'platform': (_animate_v1_Platform__Output);
  'serverId': (string);
  'displayName': (string);
}
