/**
 * The EXIF Orientation of a JPEG, PNG or WebP, and the ffmpeg filters that stand the image upright. Phones store a
 * photo as the sensor read it and record in the Exif tag Orientation (0x0112) how to turn it for display; ffmpeg
 * decodes the stored pixels and ignores the tag, so a photo taken sideways would start its clip sideways.
 * image-input.ts reads the tag here and applies it before fitting. Browsers honour it in all three containers
 * (CSS image-orientation: from-image is the default), so what the person saw in the chat is what the clip starts from.
 *
 * The rule:
 * - Where the Exif block is: a JPEG's APP1 segment (payload "Exif\0\0", then the TIFF structure), the first such
 *   segment before the image data (SOS); a PNG's eXIf chunk before the first IDAT (PNG 1.2 extensions: the TIFF
 *   structure itself); a WebP's EXIF chunk in the extended (VP8X) layout. PNG and WebP writers differ on the
 *   "Exif\0\0" prefix, so there it is skipped when present. The TIFF header is "II" or "MM" with 42, then IFD0, whose
 *   Orientation entry must be a SHORT with a value 1..8.
 * - Anything else is orientation 1 (as stored): no Exif block, no Orientation entry, another type or a value out of
 *   range, or any part of it malformed or cut off. A bad tag never fails a request: the image was already accepted by
 *   its header (shared/wire/image-limits.ts), and showing it as stored is what a viewer without EXIF does.
 * - Every read is bounded by the block's own length (a JPEG segment holds at most 65533 bytes, a chunk says its
 *   length and is checked against the file), so a lying offset or count cannot read past it, and each walk over
 *   segments or chunks advances by at least 8 bytes a step (2 for JPEG markers) and stops at the image data.
 *
 * The values, by where the stored 0th row and 0th column belong when shown (the Exif 2.3 table), and the ffmpeg
 * filter that does that: 1 top/left (none), 2 top/right (hflip), 3 bottom/right (hflip,vflip), 4 bottom/left (vflip),
 * 5 left/top (transpose=0: across the main diagonal), 6 right/top (transpose=1: 90° clockwise), 7 right/bottom
 * (transpose=3: across the other diagonal), 8 left/bottom (transpose=2: 90° counter-clockwise). 5..8 swap the sides:
 * a stored W×H image is shown H×W.
 */
import { jpegSegments, type ImageType } from '../../shared/wire/image-limits.ts';

export type ExifOrientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TIFF_SHORT = 3;
const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"

/** The Orientation of a JPEG's Exif segment; 1 when it has none or it cannot be read (see the header). */
export function jpegOrientation(data: Uint8Array): ExifOrientation {
  const segment = firstExifPayload(data);
  if (segment === undefined) return 1;
  return tiffOrientation(data, segment.start + EXIF_HEADER.length, segment.end);
}

/** The Orientation an image of `type` carries (see the header); 1 for a GIF, which has no Exif. */
export function imageOrientation(type: ImageType, data: Uint8Array): ExifOrientation {
  switch (type) {
    case 'jpeg':
      return jpegOrientation(data);
    case 'png':
      return blockOrientation(data, pngExifChunk(data));
    case 'webp':
      return blockOrientation(data, webpExifChunk(data));
    case 'gif':
      return 1;
  }
}

/** A PNG's or WebP's Exif block: the TIFF structure, after an "Exif\0\0" prefix if a writer put one there. */
function blockOrientation(d: Uint8Array, block: { start: number; end: number } | undefined): ExifOrientation {
  if (block === undefined) return 1;
  const prefixed = block.end - block.start >= EXIF_HEADER.length && EXIF_HEADER.every((b, i) => d[block.start + i] === b);
  return tiffOrientation(d, block.start + (prefixed ? EXIF_HEADER.length : 0), block.end);
}

/** Whether showing the image upright swaps its width and height (5..8). */
export function swapsSides(orientation: ExifOrientation): boolean {
  return orientation >= 5;
}

/** The sides of the image as shown, for a stored `size`. */
export function uprightSize(size: { width: number; height: number }, orientation: ExifOrientation): { width: number; height: number } {
  return swapsSides(orientation) ? { width: size.height, height: size.width } : { width: size.width, height: size.height };
}

/** The ffmpeg filter steps that turn the stored image upright (none for 1). */
export function orientationFilters(orientation: ExifOrientation): string[] {
  return FILTERS[orientation];
}

const FILTERS: Readonly<Record<ExifOrientation, string[]>> = {
  1: [],
  2: ['hflip'],
  3: ['hflip', 'vflip'],
  4: ['vflip'],
  5: ['transpose=0'],
  6: ['transpose=1'],
  7: ['transpose=3'],
  8: ['transpose=2'],
};

/** The bytes of the first APP1 payload that starts "Exif\0\0", before the image data; undefined when there is none. */
function firstExifPayload(d: Uint8Array): { start: number; end: number } | undefined {
  if (d[0] !== 0xff || d[1] !== 0xd8) return undefined;
  // Any early end of the walk (lost sync, a bad length, image data reached) means no usable EXIF.
  for (const { marker, start, end } of jpegSegments(d)) {
    if (end > d.length) return undefined; // cut off
    if (marker === 0xe1 && end - start >= EXIF_HEADER.length && EXIF_HEADER.every((b, i) => d[start + i] === b)) return { start, end };
  }
  return undefined;
}

/** Orientation from the TIFF structure in d[tiff, end): IFD0's 0x0112 entry, or 1. */
function tiffOrientation(d: Uint8Array, tiff: number, end: number): ExifOrientation {
  const size = end - tiff;
  if (size < 8) return 1;
  const order = String.fromCharCode(d[tiff]!, d[tiff + 1]!);
  if (order !== 'II' && order !== 'MM') return 1;
  const little = order === 'II';
  // Offsets are relative to the TIFF header and checked against `size` before each read.
  const u16 = (at: number) => (little ? d[tiff + at]! | (d[tiff + at + 1]! << 8) : (d[tiff + at]! << 8) | d[tiff + at + 1]!);
  const u32 = (at: number) => (little ? (u16(at) | (u16(at + 2) << 16)) >>> 0 : ((u16(at) << 16) | u16(at + 2)) >>> 0);
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > size) return 1;
  const count = u16(ifd);
  if (ifd + 2 + count * 12 > size) return 1; // claims more entries than the segment holds
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) !== ORIENTATION_TAG) continue;
    if (u16(entry + 2) !== TIFF_SHORT || u32(entry + 4) < 1) return 1;
    // A single SHORT sits left-justified in the 4-byte value field, in the file's byte order.
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? (value as ExifOrientation) : 1;
  }
  return 1;
}

const be32 = (d: Uint8Array, at: number) => ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
const le32 = (d: Uint8Array, at: number) => (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;
const fourcc = (d: Uint8Array, at: number) => String.fromCharCode(d[at]!, d[at + 1]!, d[at + 2]!, d[at + 3]!);

/** The data of a PNG's eXIf chunk before its first IDAT (where the PNG extensions put it); undefined when none. */
function pngExifChunk(d: Uint8Array): { start: number; end: number } | undefined {
  // 8-byte signature, then chunks: length (4, big-endian), type (4), data, CRC (4). The CRC is not checked: a bad
  // one at worst shows the image as stored, which is what a strict viewer would do.
  for (let at = 8; at + 8 <= d.length; ) {
    const length = be32(d, at);
    const type = fourcc(d, at + 4);
    const start = at + 8;
    const end = start + length;
    if (end + 4 > d.length) return undefined; // cut off
    if (type === 'eXIf') return { start, end };
    if (type === 'IDAT' || type === 'IEND') return undefined;
    at = end + 4;
  }
  return undefined;
}

/** The data of a WebP's EXIF chunk (extended layout: RIFF, WEBP, VP8X first); undefined when none. */
function webpExifChunk(d: Uint8Array): { start: number; end: number } | undefined {
  if (d.length < 30 || fourcc(d, 12) !== 'VP8X') return undefined;
  // The RIFF size bounds the walk as much as the bytes do; chunks are fourcc (4), size (4, little-endian), data,
  // padded to an even length.
  const riffEnd = Math.min(d.length, 8 + le32(d, 4));
  for (let at = 12; at + 8 <= riffEnd; ) {
    const size = le32(d, at + 4);
    const start = at + 8;
    const end = start + size;
    if (end > riffEnd) return undefined; // cut off
    if (fourcc(d, at) === 'EXIF') return { start, end };
    at = end + (size & 1);
  }
  return undefined;
}
