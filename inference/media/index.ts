/** The media module: everything ffmpeg, behind one import. */
export {
  getMediaBinaries,
  resolveMediaBinaries,
  describeMediaBinaries,
  parseFfmpegVersion,
  MIN_PREFERRED_SYSTEM_MAJOR,
  type FfmpegVersion,
  type MediaBinaries,
  type BinarySource,
  type WebpEncoder,
  type ResolveMediaBinariesOptions,
  type GetMediaBinariesOptions,
} from './binaries.ts';
export { encodeClip, CLIP_MIME_TYPES, QUALITY_STEPS, type EncodedClip } from './encode.ts';
export { fitClip, halve, MIN_FIT_SIDE, type FitClipOptions, type FittedClip, type ClipFitReport } from './fit.ts';
export { encodePreview, fitPreview, PREVIEW_MIME_TYPES, type EncodedPreview } from './preview.ts';
export { probeClip, type ClipProbe } from './probe.ts';
export { decodeFrames, sniffFormat } from './decode.ts';
export { parseWebp, isWebp, type WebpInfo, type WebpFrame } from './webp-container.ts';
export {
  CLIP_FORMATS,
  PREVIEW_FORMATS,
  MAX_OUTPUT_SIDE,
  type ClipFormat,
  type PreviewFormat,
  type EncodeOptions,
  type PreviewOptions,
} from './options.ts';
export { assertValidVideo, MAX_VIDEO_SIDE, MAX_VIDEO_FPS, type RgbVideo } from './video.ts';
export * from './errors.ts';
