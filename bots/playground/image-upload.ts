// An image attached to (or dropped on) a playground message: the page sends it inside the JSON body as base64
// (the request guard admits JSON writes only), and this module turns it back into bytes within the shared limits
// (shared/wire/image-limits.ts), so an oversized or non-image file is refused with a message naming `image` and what
// is allowed, before the core or the daemon sees it.
import { IMAGE_MIME_TYPES, MAX_IMAGE_BYTES, sniffImageType } from '../../shared/wire/image-limits.ts';
import type { ImageAttachment } from '../core/image-download.ts';
import { checkImageAttachment } from '../core/request.ts';

/** Largest /api/message body: the largest image as base64 (4/3 of it) plus room for the text. */
export const MAX_MESSAGE_WITH_IMAGE_BYTES = Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 64 * 1024;

/** A refusal of the `image` field: its message is shown to the person as is. */
export class ImageFieldError extends Error {}

const MIB = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;

/** The `image` field of a message body ({ data: base64, name? }), or undefined when there is none. */
export function imageFromBody(field: unknown): ImageAttachment | undefined {
  if (field === undefined || field === null) return undefined;
  if (typeof field !== 'object' || typeof (field as { data?: unknown }).data !== 'string') throw new ImageFieldError('image must be { data: base64 text, name?: text }.');
  const { data, name } = field as { data: string; name?: unknown };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new ImageFieldError('image.data must be base64 text.');
  const bytes = Buffer.from(data, 'base64');
  const label = typeof name === 'string' && name ? `The image "${name.slice(0, 80)}"` : 'The image';
  if (bytes.length === 0) throw new ImageFieldError(`${label} is empty; attach a PNG, JPEG, WebP or GIF image.`);
  if (bytes.length > MAX_IMAGE_BYTES) throw new ImageFieldError(`${label} is ${MIB(bytes.length)}; at most ${MIB(MAX_IMAGE_BYTES)} can be animated.`);
  const type = sniffImageType(bytes);
  if (!type) throw new ImageFieldError(`${label} is not a PNG, JPEG, WebP or GIF image.`);
  const image = { bytes, mimeType: IMAGE_MIME_TYPES[type], ...(typeof name === 'string' && name ? { name: name.slice(0, 200) } : {}) };
  // The daemon's own limits (sides from the header too), so the person hears now rather than from the daemon.
  try {
    checkImageAttachment(image);
  } catch (err) {
    throw new ImageFieldError(err instanceof Error ? err.message : String(err));
  }
  return image;
}
