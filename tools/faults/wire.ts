// Raw wire access for the fault suite: protobuf messages written field by field (so any field can carry any wire
// type, any value, or be repeated, cut short or garbage), sent over grpc-js with an identity serializer, and raw
// HTTP/2 requests for what grpc-js itself would never send (bad frame prefixes, compression flags, content types).
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';

/** One protobuf field as it goes on the wire. `message` nests a list of fields as a length-delimited value. */
export type WireField =
  | { no: number; wire: 'varint'; value: bigint | number }
  | { no: number; wire: 'fixed32'; value: Buffer | number }
  | { no: number; wire: 'fixed64'; value: Buffer | bigint }
  | { no: number; wire: 'float'; value: number }
  | { no: number; wire: 'bytes'; value: Buffer | string }
  | { no: number; wire: 'message'; value: WireField[] }
  | { no: number; wire: 'raw'; value: Buffer };

function varint(v: bigint): Buffer {
  // Negative numbers go out as 10-byte two's complement, as protobuf does for int64.
  let x = v < 0n ? (1n << 64n) + v : v;
  const out: number[] = [];
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) byte |= 0x80;
    out.push(byte);
  } while (x > 0n);
  return Buffer.from(out);
}

function tag(no: number, wireType: number): Buffer {
  return varint((BigInt(no) << 3n) | BigInt(wireType));
}

export function encodeFields(fields: WireField[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    switch (f.wire) {
      case 'varint':
        parts.push(tag(f.no, 0), varint(BigInt(f.value)));
        break;
      case 'fixed32': {
        const b = Buffer.isBuffer(f.value) ? f.value : Buffer.alloc(4);
        if (!Buffer.isBuffer(f.value)) b.writeUInt32LE(f.value >>> 0);
        parts.push(tag(f.no, 5), b);
        break;
      }
      case 'float': {
        const b = Buffer.alloc(4);
        b.writeFloatLE(f.value);
        parts.push(tag(f.no, 5), b);
        break;
      }
      case 'fixed64': {
        const b = Buffer.isBuffer(f.value) ? f.value : Buffer.alloc(8);
        if (!Buffer.isBuffer(f.value)) b.writeBigUInt64LE(BigInt.asUintN(64, f.value));
        parts.push(tag(f.no, 1), b);
        break;
      }
      case 'bytes':
      case 'message': {
        const body = f.wire === 'message' ? encodeFields(f.value) : Buffer.isBuffer(f.value) ? f.value : Buffer.from(f.value, 'utf8');
        parts.push(tag(f.no, 2), varint(BigInt(body.length)), body);
        break;
      }
      case 'raw':
        parts.push(f.value);
        break;
    }
  }
  return Buffer.concat(parts);
}

/** How one call ended, as the fault suite judges it. */
export interface CallOutcome {
  /** gRPC status code; 0 when the call ended OK. */
  code: number;
  details: string;
  /** Messages received before the end (for Generate: events). */
  messages: Buffer[];
  /** The call was still open at the harness's own watchdog (deadline + slack): grpc-js did not end it. */
  hung: boolean;
  ms: number;
  metadata?: grpc.Metadata;
}

const identity = (b: Buffer): Buffer => b;

/** grpc-js shares one connection among clients of the same address unless told not to; the suite means its own. */
export const OWN_CONNECTION: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };

/** A generic grpc-js client on a connection of its own: calls any method with raw bytes. */
export function rawClient(address: string, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 * 1024 * 1024, ...OWN_CONNECTION, ...options });
}

export interface RawCallOptions {
  metadata?: grpc.Metadata;
  deadlineMs: number;
  /** Server streams: cancel the call on the first message (an accepted request is not worth running). */
  cancelOnFirstMessage?: boolean;
}

function watchdog(deadlineMs: number, onFire: () => void): NodeJS.Timeout {
  // grpc-js enforces the deadline itself; this fires only if even that does not end the call.
  return setTimeout(onFire, deadlineMs + 5000);
}

export function rawServerStream(client: grpc.Client, method: string, body: Buffer, opts: RawCallOptions): Promise<CallOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    let done = false;
    const finish = (o: Omit<CallOutcome, 'messages' | 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(dog);
      resolve({ ...o, messages, ms: performance.now() - t0 });
    };
    const call = client.makeServerStreamRequest(method, identity, identity, body, opts.metadata ?? new grpc.Metadata(), { deadline: Date.now() + opts.deadlineMs });
    const dog = watchdog(opts.deadlineMs, () => {
      finish({ code: grpc.status.DEADLINE_EXCEEDED, details: 'harness watchdog: the call never ended', hung: true });
      call.cancel();
    });
    let accepted = false;
    call.on('data', (m: Buffer) => {
      messages.push(m);
      if (opts.cancelOnFirstMessage && !accepted) {
        accepted = true;
        call.cancel();
      }
    });
    call.on('status', (s: grpc.StatusObject) => {
      // A call we cancelled ourselves after it was accepted counts as accepted (OK).
      const code = accepted && s.code === grpc.status.CANCELLED ? grpc.status.OK : s.code;
      finish({ code, details: s.details, hung: false, metadata: s.metadata });
    });
    call.on('error', () => {
      // The status event carries what we need.
    });
  });
}

export function rawUnary(client: grpc.Client, method: string, body: Buffer, opts: RawCallOptions): Promise<CallOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Omit<CallOutcome, 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(dog);
      resolve({ ...o, ms: performance.now() - t0 });
    };
    const call = client.makeUnaryRequest(method, identity, identity, body, opts.metadata ?? new grpc.Metadata(), { deadline: Date.now() + opts.deadlineMs }, (err, res) => {
      if (err) finish({ code: err.code, details: err.details, messages: [], hung: false, metadata: err.metadata });
      else finish({ code: 0, details: '', messages: res ? [res] : [], hung: false });
    });
    const dog = watchdog(opts.deadlineMs, () => {
      finish({ code: grpc.status.DEADLINE_EXCEEDED, details: 'harness watchdog: the call never ended', messages: [], hung: true });
      call.cancel();
    });
  });
}

export interface RawHttp2Request {
  path: string;
  headers?: http2.OutgoingHttpHeaders;
  /** The whole request body, gRPC length prefixes included (or not: that is the point). */
  body: Buffer;
  deadlineMs: number;
}

/** One HTTP/2 request on its own session; the gRPC status comes from trailers (or headers, for trailers-only). */
export function rawHttp2(address: string, req: RawHttp2Request): Promise<CallOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const session = http2.connect(`http://${address}`);
    const finish = (o: Omit<CallOutcome, 'ms' | 'messages'>) => {
      if (done) return;
      done = true;
      clearTimeout(dog);
      session.destroy();
      resolve({ ...o, messages: [], ms: performance.now() - t0 });
    };
    const dog = setTimeout(() => finish({ code: grpc.status.DEADLINE_EXCEEDED, details: 'no status before the deadline', hung: true }), req.deadlineMs);
    session.on('error', (err) => finish({ code: grpc.status.UNAVAILABLE, details: `session error: ${err.message}`, hung: false }));
    const stream = session.request({ ':method': 'POST', ':path': req.path, 'content-type': 'application/grpc', te: 'trailers', ...req.headers });
    let statusFrom: http2.IncomingHttpHeaders | undefined;
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) statusFrom = h;
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', () => {});
    stream.on('error', (err) => finish({ code: grpc.status.UNAVAILABLE, details: `stream error: ${err.message}`, hung: false }));
    stream.on('close', () => {
      if (statusFrom) {
        const details = decodeURIComponent(String(statusFrom['grpc-message'] ?? ''));
        finish({ code: Number(statusFrom['grpc-status']), details, hung: false });
      } else {
        // No gRPC status at all: an HTTP-level refusal (e.g. 415). grpc-js clients map that to UNKNOWN/INTERNAL-ish codes;
        // for a raw peer that spoke no gRPC it is fine, so report it as UNIMPLEMENTED-like "no grpc status".
        finish({ code: -1, details: `no grpc-status (HTTP stream closed, rst code ${stream.rstCode})`, hung: false });
      }
    });
    stream.end(req.body);
  });
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, body. */
export function grpcFrame(body: Buffer, { compressed = false, declaredLength }: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(declaredLength ?? body.length, 1);
  return Buffer.concat([head, body]);
}
