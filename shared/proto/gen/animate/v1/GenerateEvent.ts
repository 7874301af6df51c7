// Original file: proto/animate/v1/animator.proto

import type { Queued as _animate_v1_Queued, Queued__Output as _animate_v1_Queued__Output } from '../../animate/v1/Queued.ts';
import type { Started as _animate_v1_Started, Started__Output as _animate_v1_Started__Output } from '../../animate/v1/Started.ts';
import type { Progress as _animate_v1_Progress, Progress__Output as _animate_v1_Progress__Output } from '../../animate/v1/Progress.ts';
import type { Preview as _animate_v1_Preview, Preview__Output as _animate_v1_Preview__Output } from '../../animate/v1/Preview.ts';
import type { ClipChunk as _animate_v1_ClipChunk, ClipChunk__Output as _animate_v1_ClipChunk__Output } from '../../animate/v1/ClipChunk.ts';
import type { Done as _animate_v1_Done, Done__Output as _animate_v1_Done__Output } from '../../animate/v1/Done.ts';

export interface GenerateEvent {
  'requestId'?: (string);
  'queued'?: (_animate_v1_Queued | null);
  'started'?: (_animate_v1_Started | null);
  'progress'?: (_animate_v1_Progress | null);
  'preview'?: (_animate_v1_Preview | null);
  'clip'?: (_animate_v1_ClipChunk | null);
  'done'?: (_animate_v1_Done | null);
  'event'?: "queued"|"started"|"progress"|"preview"|"clip"|"done";
}

export interface GenerateEvent__Output {
  'requestId': (string);
  'queued'?: (_animate_v1_Queued__Output | null);
  'started'?: (_animate_v1_Started__Output | null);
  'progress'?: (_animate_v1_Progress__Output | null);
  'preview'?: (_animate_v1_Preview__Output | null);
  'clip'?: (_animate_v1_ClipChunk__Output | null);
  'done'?: (_animate_v1_Done__Output | null);
  'event'?: "queued"|"started"|"progress"|"preview"|"clip"|"done";
}
