// Where finished clips are kept between the worker that made one and the gateways that stream it: stored once, read
// by every gateway that follows the job, gone after a TTL. An interface so object storage (S3 and the like) can take
// Redis's place for large clips later; Redis keeps them today.
import type { Redis } from 'ioredis';

export interface BlobStore {
  put(key: string, bytes: Uint8Array, ttlSeconds: number): Promise<void>;
  /** The bytes, or undefined when the blob has expired or never was. */
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
}

export class RedisBlobStore implements BlobStore {
  constructor(private readonly redis: Redis) {}

  async put(key: string, bytes: Uint8Array, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(key)) ?? undefined;
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
