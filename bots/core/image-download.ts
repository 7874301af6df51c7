// Fetching an image a person attached (a Discord attachment, a Slack file) so it can go to the daemon as
// GenerateRequest.image. The URL comes from a chat event, so it is untrusted: only the platform's own file hosts are
// fetched (an attachment must not make the bot reach into its own network), redirects are followed by hand so each
// hop is checked too, and the size is bounded before reading (the platform's declared size, Content-Length) and while
// reading (the body is counted and dropped past the limit), under a timeout. Every refusal is an InvalidOptionsError
// on the `image` option, worded for the person who attached the file.
import { IMAGE_MIME_TYPES, MAX_IMAGE_BYTES, imageTypeFromMime, sniffImageType } from '../../shared/wire/image-limits.ts';
import { InvalidOptionsError } from './errors.ts';

/** An image to animate from: the bytes as attached and their type (image/png, image/jpeg, image/webp, image/gif). */
export interface ImageAttachment {
  readonly bytes: Buffer;
  readonly mimeType: string;
  /** The file's name as the person sent it, for messages. */
  readonly name?: string | undefined;
}

/** Largest attachment fetched, when the adapter does not say: the daemon's own limit (shared/wire/image-limits.ts). */
export const DEFAULT_IMAGE_MAX_BYTES = MAX_IMAGE_BYTES;
export const DEFAULT_IMAGE_TIMEOUT_MS = 15_000;
const MAX_REDIRECTS = 3;

export interface ImageDownloadOptions {
  /**
   * Hosts that may be fetched: an exact host ("files.slack.com") or a suffix starting with a dot (".discordapp.net").
   * Emulators add their own "127.0.0.1:PORT" (host with port).
   */
  allowedHosts: readonly string[];
  /** Plain http is refused unless allowed (emulators). Default false. */
  allowHttp?: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  /** Sent with the first request only (Slack's bot token for url_private); never on a redirect to another address. */
  headers?: Readonly<Record<string, string>>;
  /** The size the platform says the file has, checked before anything is fetched. */
  declaredSize?: number | undefined;
  /** The type the platform says the file has, checked before anything is fetched. */
  declaredType?: string | undefined;
  name?: string | undefined;
}

const refuse = (message: string) => new InvalidOptionsError(message, 'image');
const mib = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
const ALLOWED_TYPES_TEXT = 'PNG, JPEG, WebP or GIF';

/** The bare MIME type ("image/png; charset=x" → "image/png"), lower case. */
const bareType = (type: string | null | undefined): string => (type ?? '').split(';')[0]!.trim().toLowerCase();

export const isImageType = (type: string | undefined | null): boolean => imageTypeFromMime(bareType(type)) !== undefined;

function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  return allowed.some((rule) => {
    const r = rule.toLowerCase();
    if (r.includes(':')) return url.host.toLowerCase() === r;
    return r.startsWith('.') ? host.endsWith(r) && host.length > r.length : host === r;
  });
}

function checkUrl(raw: string, options: ImageDownloadOptions): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('The attached image has no address the bot can read.');
  }
  if (url.protocol !== 'https:' && !(options.allowHttp && url.protocol === 'http:')) throw refuse('The attached image is not on a secure (https) address, so the bot did not fetch it.');
  if (!hostAllowed(url, options.allowedHosts)) throw refuse(`The attached image is not on this platform's file host (${url.hostname}), so the bot did not fetch it. Attach the image itself.`);
  return url;
}

/** Reads a body counting bytes, stopping (and refusing) as soon as it passes `max`. */
async function readBounded(body: ReadableStream<Uint8Array>, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) throw refuse(`${what} is larger than ${mib(max)}; attach a smaller image.`);
      chunks.push(Buffer.from(value));
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks, total);
}

/** Fetches an attached image within the bounds; resolves its bytes and sniffed type, or rejects with a refusal. */
export async function downloadImage(rawUrl: string, options: ImageDownloadOptions): Promise<ImageAttachment> {
  const max = options.maxBytes ?? DEFAULT_IMAGE_MAX_BYTES;
  const what = options.name ? `The image "${options.name}"` : 'The attached image';
  if (options.declaredSize !== undefined && options.declaredSize > max) throw refuse(`${what} is ${mib(options.declaredSize)}; at most ${mib(max)} can be animated. Attach a smaller image.`);
  if (options.declaredType && !isImageType(options.declaredType)) throw refuse(`${what} is ${bareType(options.declaredType) || 'not an image'}; attach a ${ALLOWED_TYPES_TEXT} image.`);
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS);
  let url = checkUrl(rawUrl, options);
  let response: Response | undefined;
  try {
    for (let hop = 0; ; hop++) {
      response = await fetch(url, { redirect: 'manual', signal, ...(hop === 0 && options.headers ? { headers: { ...options.headers } } : {}) });
      if (response.status < 300 || response.status >= 400) break;
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      if (!location || hop >= MAX_REDIRECTS) throw refuse(`${what} could not be fetched (too many redirects).`);
      url = checkUrl(new URL(location, url).toString(), options);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw refuse(`${what} could not be fetched from the platform (HTTP ${response.status}). Attach it again.`);
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(length) && length > max) {
      await response.body?.cancel().catch(() => undefined);
      throw refuse(`${what} is ${mib(length)}; at most ${mib(max)} can be animated. Attach a smaller image.`);
    }
    const bytes = response.body ? await readBounded(response.body, max, what) : Buffer.alloc(0);
    // The bytes decide the type: a platform's label (or a renamed file) can be wrong, and the daemon sniffs too.
    const sniffed = sniffImageType(bytes);
    const mimeType = sniffed ? IMAGE_MIME_TYPES[sniffed] : undefined;
    if (!mimeType) throw refuse(`${what} is not a ${ALLOWED_TYPES_TEXT} image.`);
    return { bytes, mimeType, ...(options.name ? { name: options.name } : {}) };
  } catch (err) {
    if (err instanceof InvalidOptionsError) throw err;
    if (signal.aborted) throw refuse(`${what} took too long to fetch (over ${Math.round((options.timeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS) / 1000)} s). Try again.`);
    throw refuse(`${what} could not be fetched from the platform. Attach it again.`);
  }
}
