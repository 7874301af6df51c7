// Clips and previews served by URL from memory. Bounded by total bytes: the least recently used go first, so a
// long session cannot grow the process without limit (the page only needs recent media; old bubbles show a note).
import { randomBytes } from 'node:crypto';

export interface CachedMedia {
  readonly data: Buffer;
  readonly mimeType: string;
}

const EXTENSIONS: Readonly<Record<string, string>> = { 'video/mp4': 'mp4', 'image/webp': 'webp', 'image/gif': 'gif' };

export class MediaCache {
  private readonly items = new Map<string, CachedMedia>();
  private bytes = 0;

  constructor(readonly maxBytes = 64 * 1024 * 1024) {}

  /** Stores the media and returns its id (with extension, e.g. "k3j…x.webp"). */
  put(data: Buffer, mimeType: string): string {
    const id = `${randomBytes(9).toString('base64url')}.${EXTENSIONS[mimeType] ?? 'bin'}`;
    this.items.set(id, { data, mimeType });
    this.bytes += data.length;
    for (const [oldId, item] of this.items) {
      if (this.bytes <= this.maxBytes || oldId === id) break;
      this.items.delete(oldId);
      this.bytes -= item.data.length;
    }
    return id;
  }

  get(id: string): CachedMedia | undefined {
    const item = this.items.get(id);
    if (item) {
      // Refresh its place in the LRU order.
      this.items.delete(id);
      this.items.set(id, item);
    }
    return item;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.items.size;
  }
}
