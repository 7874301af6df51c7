// The writing half of the WebP RIFF container (Google's "WebP Container Specification"): a chunk, a 24-bit field and
// the RIFF/WEBP wrapper. The preview encoder (webp-encoder.ts) writes animations with them and the container reader
// (webp-container.ts) rebuilds single frames as stills, so the byte layout is written once.

/** One chunk: its FourCC, its payload's length (little-endian), the payload, padded to an even size. */
export function webpChunk(fourcc: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length + (payload.length & 1));
  for (let i = 0; i < 4; i++) out[i] = fourcc.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, payload.length, true);
  out.set(payload, 8);
  return out;
}

/** A 24-bit little-endian field (VP8X canvas sides, ANMF offsets and durations). */
export function writeUint24(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >> 8) & 0xff;
  out[at + 2] = (value >> 16) & 0xff;
}

/** The file: "RIFF", the size of what follows, "WEBP", then the chunks in order. */
export function wrapWebp(chunks: readonly Uint8Array[]): Uint8Array {
  const body = chunks.reduce((n, c) => n + c.length, 4);
  const out = new Uint8Array(8 + body);
  out.set([0x52, 0x49, 0x46, 0x46]); // RIFF
  new DataView(out.buffer).setUint32(4, body, true);
  out.set([0x57, 0x45, 0x42, 0x50], 8); // WEBP
  let at = 12;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
