// The image-to-video attachment rules, written once: which image types GenerateRequest.image may hold, how large it
// may be in bytes and in pixels, and how its type and size are read from the first bytes. The daemon checks every
// request with them (inference/server/validate.ts, inference/media/image-input.ts) and the bot core checks an
// attachment with them before sending (bots/core/request.ts), so a person hears at once and the two sides cannot
// drift apart. Sizes are read from the header only, never by decoding: an image whose header claims 30000×30000
// pixels (a decompression bomb: a few kilobytes that inflate to gigabytes) is refused before any decoder sees it.

/** The image types accepted, by short name. A GIF contributes its first frame; an animated WebP too. */
export const IMAGE_TYPES = ['png', 'jpeg', 'webp', 'gif'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** GenerateRequest.image_mime_type for each type (the proto's list). */
export const IMAGE_MIME_TYPES: Readonly<Record<ImageType, string>> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' };

/** Largest GenerateRequest.image: 10 MiB holds any photo a chat platform lets through at the sizes we accept. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** Sides in pixels, read from the header: 4096 bounds a decode at 64 MiB of RGBA; under 16 there is nothing to see. */
export const MAX_IMAGE_SIDE = 4096;
export const MIN_IMAGE_SIDE = 16;
/**
 * The daemon's gRPC receive limit: the largest image plus room for every other field of a GenerateRequest. A larger
 * message is refused by grpc-js itself with RESOURCE_EXHAUSTED, before the daemon reads it.
 */
export const MAX_REQUEST_MESSAGE_BYTES = 12 * 1024 * 1024;

/** What the header says. */
export interface ImageHeader {
  type: ImageType;
  width: number;
  height: number;
}

/** What is wrong with an attachment; each side words it for its reader (describeImageRule gives the common part). */
export type ImageViolation =
  | { field: 'image'; rule: 'empty' }
  | { field: 'image'; rule: 'too_many_bytes'; bytes: number; max: number }
  | { field: 'image'; rule: 'unknown_type' }
  | { field: 'image'; rule: 'unreadable_header'; type: ImageType; detail: string }
  | { field: 'image'; rule: 'too_small' | 'too_large'; type: ImageType; width: number; height: number; limit: number }
  | { field: 'image_mime_type'; rule: 'unsupported_mime'; value: string }
  | { field: 'image_mime_type'; rule: 'mime_mismatch'; value: string; sniffed: ImageType }
  | { field: 'image_mime_type'; rule: 'mime_without_image'; value: string };

/** The type named by a MIME type ("image/png; x=y" and any letter case accepted), or undefined. */
export function imageTypeFromMime(mimeType: string): ImageType | undefined {
  const bare = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  return IMAGE_TYPES.find((type) => IMAGE_MIME_TYPES[type] === bare);
}

/** The type from the magic bytes, or undefined when they are none of ours. */
export function sniffImageType(data: Uint8Array): ImageType | undefined {
  const at = (offset: number, bytes: readonly number[]) => bytes.every((b, i) => data[offset + i] === b);
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (at(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (at(0, ascii('RIFF')) && at(8, ascii('WEBP'))) return 'webp';
  if (at(0, ascii('GIF87a')) || at(0, ascii('GIF89a'))) return 'gif';
  return undefined;
}

/**
 * Checks an attachment as sent: byte size, type from the magic bytes, agreement with `mimeType` when one is given,
 * and the sides its header declares. Returns the header, or the first violation. Callers check only a request that
 * carries an image or a mime type: empty `data` is a violation ('empty', or 'mime_without_image' beside a mime type).
 */
export function checkImage(data: Uint8Array, mimeType = ''): { header: ImageHeader } | { violation: ImageViolation } {
  const mime = mimeType.trim();
  if (data.length === 0) return mime.length > 0 ? { violation: { field: 'image_mime_type', rule: 'mime_without_image', value: mime } } : { violation: { field: 'image', rule: 'empty' } };
  if (data.length > MAX_IMAGE_BYTES) return { violation: { field: 'image', rule: 'too_many_bytes', bytes: data.length, max: MAX_IMAGE_BYTES } };
  const named = mime.length > 0 ? imageTypeFromMime(mime) : undefined;
  if (mime.length > 0 && named === undefined) return { violation: { field: 'image_mime_type', rule: 'unsupported_mime', value: mime } };
  const type = sniffImageType(data);
  if (type === undefined) return { violation: { field: 'image', rule: 'unknown_type' } };
  if (named !== undefined && named !== type) return { violation: { field: 'image_mime_type', rule: 'mime_mismatch', value: mime, sniffed: type } };
  const size = readImageSize(type, data);
  if (typeof size === 'string') return { violation: { field: 'image', rule: 'unreadable_header', type, detail: size } };
  const { width, height } = size;
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) return { violation: { field: 'image', rule: 'too_large', type, width, height, limit: MAX_IMAGE_SIDE } };
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) return { violation: { field: 'image', rule: 'too_small', type, width, height, limit: MIN_IMAGE_SIDE } };
  return { header: { type, width, height } };
}

/** A violation's "what is wrong; what is allowed", without the field (each side names the field its own way). */
export function describeImageRule(v: ImageViolation): string {
  const allowedTypes = IMAGE_TYPES.map((t) => t.toUpperCase()).join(', ');
  const allowedMimes = IMAGE_TYPES.map((t) => IMAGE_MIME_TYPES[t]).join(', ');
  switch (v.rule) {
    case 'empty':
      return `is empty; attach a ${allowedTypes} image`;
    case 'too_many_bytes':
      return `is ${formatBytes(v.bytes)} (${v.bytes} bytes); at most ${formatBytes(v.max)} (${v.max} bytes) allowed`;
    case 'unknown_type':
      return `is not an image of an accepted type (its first bytes are not those of any); allowed: ${allowedTypes}`;
    case 'unreadable_header':
      return `looks like a ${v.type.toUpperCase()} but its header cannot be read (${v.detail})`;
    case 'too_large':
      return `is ${v.width}×${v.height} pixels; at most ${v.limit}×${v.limit} allowed`;
    case 'too_small':
      return `is ${v.width}×${v.height} pixels; at least ${v.limit}×${v.limit} needed`;
    case 'unsupported_mime':
      return `"${v.value.slice(0, 64)}" is not supported; allowed: ${allowedMimes}`;
    case 'mime_mismatch':
      return `says "${v.value.slice(0, 64)}" but the image is a ${v.sniffed.toUpperCase()} (${IMAGE_MIME_TYPES[v.sniffed]}); send the matching type, or leave it empty to have it read from the bytes`;
    case 'mime_without_image':
      return `"${v.value.slice(0, 64)}" is given without an image; send the image with it, or leave both empty`;
  }
}

/** Width and height from the header of a `type` image, or why they cannot be read. */
export function readImageSize(type: ImageType, data: Uint8Array): { width: number; height: number } | string {
  switch (type) {
    case 'png':
      return pngSize(data);
    case 'gif':
      return gifSize(data);
    case 'jpeg':
      return jpegSize(data);
    case 'webp':
      return webpSize(data);
  }
}

function pngSize(d: Uint8Array): { width: number; height: number } | string {
  // Signature (8), then the IHDR chunk first: length (4), "IHDR", width and height as big-endian uint32.
  if (d.length < 24 || !ascii('IHDR').every((b, i) => d[12 + i] === b)) return 'no IHDR chunk after the signature';
  return { width: be32(d, 16), height: be32(d, 20) };
}

function gifSize(d: Uint8Array): { width: number; height: number } | string {
  // The logical screen descriptor: the canvas every frame is drawn on, and what a decoder outputs.
  if (d.length < 10) return 'the logical screen descriptor is cut off';
  return { width: le16(d, 6), height: le16(d, 8) };
}

/** Start-of-frame markers (C0–CF but DHT C4, JPG C8 and DAC CC) hold the frame's height and width. */
const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** One JPEG marker segment with a length: its marker, where it starts, and its payload [start, end) after the length. */
export interface JpegSegment {
  marker: number;
  offset: number;
  start: number;
  /** May lie past the data's end when the file is cut off: the reader decides. */
  end: number;
}

/** Why a walk over a JPEG's segments stopped: image data (SOS) or EOI reached, the data ran out, lost sync, a bad length. */
export type JpegWalkEnd = { stop: 'data' | 'end' } | { stop: 'sync'; offset: number } | { stop: 'length'; offset: number; length: number };

/**
 * The segments of a JPEG from just past SOI up to its image data, in order: fill bytes and standalone markers are
 * skipped; the walk ends (its return value says why) at SOS or EOI, at the end of the data, on a byte that is not a
 * marker, or on a length under 2. Only headers are read, never the image data. The size check below and the EXIF
 * orientation reader (inference/media/exif-orientation.ts) both walk JPEGs with it.
 */
export function* jpegSegments(d: Uint8Array): Generator<JpegSegment, JpegWalkEnd> {
  let offset = 2; // past SOI
  while (offset + 4 <= d.length) {
    if (d[offset] !== 0xff) return { stop: 'sync', offset };
    const marker = d[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // standalone markers carry no length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return { stop: 'data' };
    const length = be16(d, offset + 2);
    if (length < 2) return { stop: 'length', offset, length };
    yield { marker, offset, start: offset + 4, end: offset + 2 + length };
    offset += 2 + length;
  }
  return { stop: 'end' };
}

function jpegSize(d: Uint8Array): { width: number; height: number } | string {
  const walk = jpegSegments(d);
  for (let step = walk.next(); ; step = walk.next()) {
    if (step.done) {
      const why = step.value;
      if (why.stop === 'sync') return `byte ${why.offset} is not a segment marker`;
      if (why.stop === 'length') return `segment at byte ${why.offset} has length ${why.length}`;
      return why.stop === 'data' ? 'no frame header (SOF) before the image data' : 'no frame header (SOF) in the data';
    }
    const { marker, offset } = step.value;
    if (!JPEG_SOF.has(marker)) continue;
    if (offset + 9 > d.length) return 'the frame header (SOF) is cut off';
    const height = be16(d, offset + 5);
    const width = be16(d, offset + 7);
    // Height 0 defers it to a DNL marker after the data: the size would be known only by decoding, so refuse.
    if (height === 0) return 'the frame header defers the height to the image data (DNL)';
    return { width, height };
  }
}

function webpSize(d: Uint8Array): { width: number; height: number } | string {
  // The first chunk after "RIFF....WEBP" decides: VP8X holds the canvas (stills with alpha, animations), else the
  // one VP8 (lossy) or VP8L (lossless) bitstream holds the size in its own header.
  if (d.length < 30) return 'the first chunk is cut off';
  const fourcc = String.fromCharCode(d[12] ?? 0, d[13] ?? 0, d[14] ?? 0, d[15] ?? 0);
  if (fourcc === 'VP8X') return { width: 1 + le24(d, 24), height: 1 + le24(d, 27) };
  if (fourcc === 'VP8 ') {
    if (d[23] !== 0x9d || d[24] !== 0x01 || d[25] !== 0x2a) return 'the VP8 key frame start code is missing';
    return { width: le16(d, 26) & 0x3fff, height: le16(d, 28) & 0x3fff };
  }
  if (fourcc === 'VP8L') {
    if (d[20] !== 0x2f) return 'the VP8L signature byte is missing';
    const bits = ((d[21] ?? 0) | ((d[22] ?? 0) << 8) | ((d[23] ?? 0) << 16) | ((d[24] ?? 0) << 24)) >>> 0;
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  return `the first chunk is "${fourcc.replace(/[^\x20-\x7e]/g, '?')}", not VP8X, VP8 or VP8L`;
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

const be16 = (d: Uint8Array, o: number) => ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0);
const be32 = (d: Uint8Array, o: number) => (((d[o] ?? 0) << 24) | ((d[o + 1] ?? 0) << 16) | ((d[o + 2] ?? 0) << 8) | (d[o + 3] ?? 0)) >>> 0;
const le16 = (d: Uint8Array, o: number) => (d[o] ?? 0) | ((d[o + 1] ?? 0) << 8);
const le24 = (d: Uint8Array, o: number) => (d[o] ?? 0) | ((d[o + 1] ?? 0) << 8) | ((d[o + 2] ?? 0) << 16);

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KiB`;
  return `${bytes} bytes`;
}
