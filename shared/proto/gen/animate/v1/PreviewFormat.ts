// Original file: proto/animate/v1/animator.proto

export const PreviewFormat = {
  PREVIEW_FORMAT_UNSPECIFIED: 'PREVIEW_FORMAT_UNSPECIFIED',
  WEBP_PREVIEW: 'WEBP_PREVIEW',
  GIF_PREVIEW: 'GIF_PREVIEW',
} as const;

export type PreviewFormat =
  | 'PREVIEW_FORMAT_UNSPECIFIED'
  | 0
  | 'WEBP_PREVIEW'
  | 1
  | 'GIF_PREVIEW'
  | 2

export type PreviewFormat__Output = typeof PreviewFormat[keyof typeof PreviewFormat]
