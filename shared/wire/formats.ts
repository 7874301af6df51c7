// The output and preview formats, in the words of both sides: the short names code and people use ('mp4') and the
// wire's enum names ('MP4', generated from proto/animate/v1/animator.proto). A new format is added here (and in the
// proto, and in inference/media's encoders); every other place imports these tables.
import { OutputFormat } from '../proto/gen/animate/v1/OutputFormat.ts';
import { PreviewFormat as WirePreviewFormat } from '../proto/gen/animate/v1/PreviewFormat.ts';

export const CLIP_FORMATS = ['mp4', 'gif', 'webp'] as const;
export type ClipFormat = (typeof CLIP_FORMATS)[number];

export const PREVIEW_FORMATS = ['webp', 'gif'] as const;
export type PreviewFormat = (typeof PREVIEW_FORMATS)[number];

/** The format a request gets when it names none, and what OUTPUT_FORMAT_UNSPECIFIED means. */
export const DEFAULT_CLIP_FORMAT: ClipFormat = 'mp4';
/** The preview format when none is asked for, and what PREVIEW_FORMAT_UNSPECIFIED means. */
export const DEFAULT_PREVIEW_FORMAT: PreviewFormat = 'webp';

type WireClipFormat = Exclude<keyof typeof OutputFormat, 'OUTPUT_FORMAT_UNSPECIFIED'>;
type WirePreview = Exclude<keyof typeof WirePreviewFormat, 'PREVIEW_FORMAT_UNSPECIFIED'>;

export const CLIP_FORMAT_TO_WIRE: Readonly<Record<ClipFormat, WireClipFormat>> = { mp4: OutputFormat.MP4, gif: OutputFormat.GIF, webp: OutputFormat.WEBP };
export const PREVIEW_FORMAT_TO_WIRE: Readonly<Record<PreviewFormat, WirePreview>> = { webp: WirePreviewFormat.WEBP_PREVIEW, gif: WirePreviewFormat.GIF_PREVIEW };

/** Wire name (as proto-loader decodes enums: strings) → format; unspecified means the default. */
const WIRE_TO_CLIP: Readonly<Record<string, ClipFormat>> = {
  [OutputFormat.OUTPUT_FORMAT_UNSPECIFIED]: DEFAULT_CLIP_FORMAT,
  ...Object.fromEntries(CLIP_FORMATS.map((f) => [CLIP_FORMAT_TO_WIRE[f], f])),
};
const WIRE_TO_PREVIEW: Readonly<Record<string, PreviewFormat>> = {
  [WirePreviewFormat.PREVIEW_FORMAT_UNSPECIFIED]: DEFAULT_PREVIEW_FORMAT,
  ...Object.fromEntries(PREVIEW_FORMATS.map((f) => [PREVIEW_FORMAT_TO_WIRE[f], f])),
};

/** The clip format a wire enum value names, or undefined for a value this side does not know. */
export function clipFormatFromWire(value: unknown): ClipFormat | undefined {
  return Object.hasOwn(WIRE_TO_CLIP, String(value)) ? WIRE_TO_CLIP[String(value)] : undefined;
}

/** The preview format a wire enum value names; absent or unknown values mean the default (as the proto says). */
export function previewFormatFromWire(value: unknown): PreviewFormat {
  return (Object.hasOwn(WIRE_TO_PREVIEW, String(value)) ? WIRE_TO_PREVIEW[String(value)] : undefined) ?? DEFAULT_PREVIEW_FORMAT;
}

/** The wire names a request may list, for messages ("allowed: MP4, GIF, WEBP"). */
export const WIRE_CLIP_FORMAT_NAMES: readonly WireClipFormat[] = CLIP_FORMATS.map((f) => CLIP_FORMAT_TO_WIRE[f]);

export const CLIP_MIME_TYPES: Readonly<Record<ClipFormat, string>> = { mp4: 'video/mp4', gif: 'image/gif', webp: 'image/webp' };
export const PREVIEW_MIME_TYPES: Readonly<Record<PreviewFormat, string>> = { webp: CLIP_MIME_TYPES.webp, gif: CLIP_MIME_TYPES.gif };

/** The clip format of a MIME type ClipChunk.mime_type carries, or undefined. */
export function clipFormatFromMime(mimeType: string): ClipFormat | undefined {
  return CLIP_FORMATS.find((f) => CLIP_MIME_TYPES[f] === mimeType);
}
