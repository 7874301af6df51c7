// Original file: proto/animate/v1/animator.proto

export const OutputFormat = {
  OUTPUT_FORMAT_UNSPECIFIED: 'OUTPUT_FORMAT_UNSPECIFIED',
  MP4: 'MP4',
  GIF: 'GIF',
  WEBP: 'WEBP',
} as const;

export type OutputFormat =
  | 'OUTPUT_FORMAT_UNSPECIFIED'
  | 0
  | 'MP4'
  | 1
  | 'GIF'
  | 2
  | 'WEBP'
  | 3

export type OutputFormat__Output = typeof OutputFormat[keyof typeof OutputFormat]
