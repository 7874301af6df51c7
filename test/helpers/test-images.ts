// Images and a request recorder for the image-to-video front-end tests. A PNG written here pixel by pixel (zlib +
// CRC-32 by hand) has contents the tests know exactly, so "the bytes the person attached reached the daemon" is a
// byte comparison; the recorder wraps a real daemon connection and keeps each GenerateRequest it sends (the calls
// still go to the real daemon), so a test can read what the bot asked for.
import { deflateSync } from 'node:zlib';
import type { AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit RGB PNG of `width`×`height` filled with `rgb(x, y)`. */
export function pngImage(width: number, height: number, rgb: (x: number, y: number) => [number, number, number] = () => [200, 30, 30]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3); // filter byte 0 (none)
    for (let x = 0; x < width; x++) raw.set(rgb(x, y), row + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

export interface RecordingConnection extends AnimatorConnection {
  /** Every GenerateRequest sent, in order. */
  readonly sent: GenerateRequest[];
}

/** The same connection, keeping a copy of each GenerateRequest (its calls still go to the daemon). */
export function recordingConnection(connection: AnimatorConnection): RecordingConnection {
  const sent: GenerateRequest[] = [];
  return {
    sent,
    get raw() {
      return connection.raw;
    },
    get address() {
      return connection.address;
    },
    generate(request, opts) {
      sent.push(request);
      return connection.generate(request, opts);
    },
    cancel: (...args) => connection.cancel(...args),
    listModels: () => connection.listModels(),
    waitForReady: (timeoutMs) => connection.waitForReady(timeoutMs),
    close: () => connection.close(),
  };
}
