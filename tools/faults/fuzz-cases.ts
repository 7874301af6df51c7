// The fuzzer's catalogue: malformed and hostile requests, each a named case with what a correct daemon must do with
// it. Every field of GenerateRequest (proto/animate/v1/animator.proto) gets wrong wire types, out-of-range numbers,
// huge strings (up to 1 MiB), control characters and invalid UTF-8, unknown enum numbers and repeats; then Cancel,
// ListModels and health get theirs, metadata and tokens are mangled, and raw bytes go on the HTTP/2 wire. Cases are
// interleaved across fields and shuffled by the seed, so any --cases N covers every field and the same seed sends
// the same requests.
import { Rng } from './rng.ts';
import { encodeFields, grpcFrame, type WireField } from './wire.ts';

export const METHODS = {
  generate: '/animate.v1.Animator/Generate',
  cancel: '/animate.v1.Animator/Cancel',
  list: '/animate.v1.Animator/ListModels',
  health: '/grpc.health.v1.Health/Check',
} as const;

export type Auth = 'good' | 'none' | 'wrong' | 'basic' | 'empty' | 'huge' | 'bearer-only' | 'binary';

export interface FuzzCase {
  /** Stable name: group, field and mutation, e.g. "fuzz:strings prompt 1 MiB". */
  name: string;
  group: string;
  kind: 'generate' | 'cancel' | 'list' | 'health' | 'http2';
  body: Buffer;
  /** For kind http2: the path and headers to send raw (body is then the whole HTTP/2 body). */
  http2?: { path: string; headers: Record<string, string> };
  auth: Auth;
  /** Extra metadata entries. */
  extraMetadata?: Array<[string, string | Buffer]>;
  /** When the answer is INVALID_ARGUMENT, its message must name one of these fields. */
  fields?: string[];
  /** The request is a client mistake that must be refused (an accepted stream fails the case). */
  mustReject?: boolean;
  /** Exactly these status codes are right (e.g. UNAUTHENTICATED for a bad token). */
  codes?: number[];
  /** The status is decided by grpc-js's HTTP/2 framing, not by the daemon: INTERNAL is tolerated there. */
  transportLevel?: boolean;
}

export interface FuzzBase {
  prompt: string;
  minSteps: number;
  minFrames: number;
}

type FieldType = 'string' | 'uint32' | 'float' | 'enum' | 'repeated-enum' | 'bool' | 'message';
interface FieldSpec {
  path: string; // the name the daemon uses in messages, e.g. "preview.max_side"
  no: number;
  type: FieldType;
  parent?: 'preview' | 'requester';
  names?: string[]; // acceptable field names in INVALID_ARGUMENT messages
  /** A string field whose every value the daemon should refuse when huge (it is length-limited or must match a list). */
  limited?: boolean;
}

const FIELDS: FieldSpec[] = [
  { path: 'prompt', no: 1, type: 'string', limited: true },
  { path: 'negative_prompt', no: 2, type: 'string', limited: true },
  { path: 'seed', no: 3, type: 'uint32' },
  { path: 'steps', no: 4, type: 'uint32' },
  { path: 'guidance_scale', no: 5, type: 'float' },
  { path: 'frames', no: 6, type: 'uint32' },
  { path: 'width', no: 7, type: 'uint32', names: ['width', 'height'] },
  { path: 'height', no: 8, type: 'uint32', names: ['width', 'height'] },
  { path: 'aspect', no: 9, type: 'string', limited: true },
  { path: 'fps', no: 10, type: 'uint32' },
  { path: 'model', no: 11, type: 'string', limited: true, names: ['model'] },
  { path: 'formats', no: 12, type: 'repeated-enum' },
  { path: 'preview', no: 13, type: 'message', names: ['preview'] },
  { path: 'request_id', no: 14, type: 'string', limited: true },
  { path: 'requester', no: 15, type: 'message', names: ['requester'] },
  { path: 'upscale', no: 16, type: 'uint32' },
  { path: 'scheduler', no: 17, type: 'string', limited: true },
  { path: 'preview.disabled', no: 1, type: 'bool', parent: 'preview' },
  { path: 'preview.every_n_steps', no: 2, type: 'uint32', parent: 'preview' },
  { path: 'preview.max_side', no: 3, type: 'uint32', parent: 'preview' },
  { path: 'preview.format', no: 4, type: 'enum', parent: 'preview' },
  { path: 'requester.user_id', no: 1, type: 'string', parent: 'requester', limited: true },
  { path: 'requester.channel_id', no: 2, type: 'string', parent: 'requester', limited: true },
  { path: 'requester.platform', no: 3, type: 'enum', parent: 'requester' },
  { path: 'requester.server_id', no: 4, type: 'string', parent: 'requester', limited: true },
  { path: 'requester.display_name', no: 5, type: 'string', parent: 'requester', limited: true },
];

const MiB = 1024 * 1024;

/** A mutation: what to put in place of the field, and whether the daemon must refuse it. */
interface Mutation {
  label: string;
  group: string;
  make: (no: number) => WireField[];
  mustReject?: boolean;
}

function stringMutations(rng: Rng, limited: boolean): Mutation[] {
  const s = (label: string, value: Buffer | string, mustReject = false): Mutation => ({ label, group: 'fuzz:strings', make: (no) => [{ no, wire: 'bytes', value }], mustReject });
  const huge = (n: number, ch: string) => ch.repeat(Math.ceil(n / ch.length)).slice(0, n);
  return [
    s('1 KiB', huge(1024, 'x'), limited),
    s('64 KiB', huge(64 * 1024, 'ab'), limited),
    s('100 KiB', huge(100 * 1024, 'q'), limited),
    s('1 MiB', huge(MiB, 'm'), limited),
    s('1 MiB of random letters', Buffer.from(Array.from({ length: MiB }, () => 97 + rng.int(0, 25))), limited),
    s('1 MiB of control characters', Buffer.alloc(MiB, 0x07), limited),
    s('control characters and ANSI escapes', '\u0000\u0007\u001b[31mred\u001b[0m\r\n\tbell\u0008', false),
    s('a forged log line', 'a red ball\n2025-01-01T00:00:00.000Z ERROR [daemon] forged line user=admin', false),
    s('invalid UTF-8 (ff fe fd)', Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x62])),
    s('a lone surrogate (CESU-8)', Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62])),
    s('an overlong slash (c0 af)', Buffer.from([0xc0, 0xaf, 0x2e, 0x2e])),
    s('a cut multi-byte character', Buffer.from([0x61, 0xe2, 0x82])),
    s('RTL override and zero-width spaces', '\u202ea red ball\u202c' + '\u200b'.repeat(1000), limited),
    s('40 KB of emoji', '🎬'.repeat(10_000), limited),
    s('random binary', rng.bytes(rng.int(1, 512))),
    s('shell and format specials', '$(reboot); `id` %s%n%x ${process.exit()} ../../../etc/passwd'),
    s('only whitespace', ' \t\n \u00a0'),
    { label: 'as a varint', group: 'fuzz:wire', make: (no) => [{ no, wire: 'varint', value: rng.int(0, 2 ** 31) }] },
    { label: 'as fixed32', group: 'fuzz:wire', make: (no) => [{ no, wire: 'fixed32', value: rng.int(0, 2 ** 31) }] },
    { label: 'as fixed64', group: 'fuzz:wire', make: (no) => [{ no, wire: 'fixed64', value: BigInt(rng.int(0, 2 ** 31)) }] },
    { label: 'twice (1 MiB then short)', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: huge(MiB, 'z') }, { no, wire: 'bytes', value: 'ok' }] },
  ];
}

function uintMutations(rng: Rng): Mutation[] {
  const v = (label: string, value: bigint | number): Mutation => ({ label, group: 'fuzz:numbers', make: (no) => [{ no, wire: 'varint', value }] });
  return [
    v('0', 0), v('1', 1), v('7', 7), v('255', 255), v('65535', 65535), v('2^31-1', 2 ** 31 - 1), v('2^31', 2 ** 31), v('2^32-1', 2 ** 32 - 1),
    v('2^32 (over 32 bits)', 2n ** 32n), v('2^63', 2n ** 63n), v('-1 as int64', -1n), v('random', rng.int(0, 2 ** 32 - 1)),
    { label: 'as a string', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: '12' }] },
    { label: 'as 1 KiB of bytes', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: rng.bytes(1024) }] },
    { label: 'as fixed32', group: 'fuzz:wire', make: (no) => [{ no, wire: 'fixed32', value: rng.int(0, 2 ** 32 - 1) }] },
    { label: 'as fixed64', group: 'fuzz:wire', make: (no) => [{ no, wire: 'fixed64', value: 2n ** 40n }] },
    { label: 'twice', group: 'fuzz:wire', make: (no) => [{ no, wire: 'varint', value: 1 }, { no, wire: 'varint', value: 2 ** 32 - 1 }] },
  ];
}

function floatMutations(rng: Rng): Mutation[] {
  const f = (label: string, value: number): Mutation => ({ label, group: 'fuzz:numbers', make: (no) => [{ no, wire: 'float', value }] });
  return [
    f('NaN', Number.NaN), f('+Infinity', Infinity), f('-Infinity', -Infinity), f('-0', -0), f('0', 0), f('-5', -5), f('1e-45', 1e-45), f('3.4e38', 3.4e38),
    f('random', (rng.next() - 0.5) * 1e6),
    { label: 'as a varint', group: 'fuzz:wire', make: (no) => [{ no, wire: 'varint', value: 5 }] },
    { label: 'as bytes', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: 'NaN' }] },
    { label: 'as fixed64 (double)', group: 'fuzz:wire', make: (no) => [{ no, wire: 'fixed64', value: rng.bytes(8) }] },
    { label: 'cut short (2 of 4 bytes)', group: 'fuzz:wire', make: (no) => [{ no, wire: 'raw', value: Buffer.from([(no << 3) | 5, 0x00, 0x00]) }] },
  ];
}

function enumMutations(rng: Rng, repeated: boolean): Mutation[] {
  const e = (label: string, values: Array<number | bigint>, mustReject = false): Mutation => ({
    label, group: 'fuzz:enums', mustReject, make: (no) => values.map((value) => ({ no, wire: 'varint' as const, value })),
  });
  const list: Mutation[] = [
    e('unknown number 99', [99], repeated), e('-1', [-1n], repeated), e('2^31', [2 ** 31], repeated), e('2^32-1', [2 ** 32 - 1], repeated), e('random', [rng.int(4, 2 ** 31)], repeated),
    { label: 'as a string', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: 'MP4' }] },
  ];
  if (repeated) {
    list.push(
      e('MP4 twice', [1, 1], true), e('MP4, GIF, WEBP, MP4', [1, 2, 3, 1], true), e('1000 × MP4', new Array<number>(1000).fill(1), true), e('UNSPECIFIED and MP4', [0, 1], true),
      { label: 'packed [1,2,3]', group: 'fuzz:enums', make: (no) => [{ no, wire: 'bytes', value: Buffer.from([1, 2, 3]) }] },
      { label: 'packed garbage', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: Buffer.from([0xff, 0xff, 0xff]) }] },
      { label: 'packed 100 000 × 99', group: 'fuzz:enums', mustReject: true, make: (no) => [{ no, wire: 'bytes', value: Buffer.alloc(100_000, 99) }] },
    );
  }
  return list;
}

function messageMutations(rng: Rng): Mutation[] {
  return [
    { label: 'random bytes', group: 'fuzz:messages', make: (no) => [{ no, wire: 'bytes', value: rng.bytes(rng.int(1, 64)) }] },
    { label: 'empty', group: 'fuzz:messages', make: (no) => [{ no, wire: 'bytes', value: Buffer.alloc(0) }] },
    { label: 'as a varint', group: 'fuzz:wire', make: (no) => [{ no, wire: 'varint', value: 3 }] },
    { label: 'nested field with a 1 MiB string', group: 'fuzz:messages', make: (no) => [{ no, wire: 'message', value: [{ no: 1, wire: 'bytes', value: 'u'.repeat(MiB) }] }] },
    { label: 'declared length past the end', group: 'fuzz:wire', make: (no) => [{ no, wire: 'raw', value: Buffer.from([(no << 3) | 2, 0x7f, 0x01]) }] },
    { label: 'unknown nested field 99', group: 'fuzz:messages', make: (no) => [{ no, wire: 'message', value: [{ no: 99, wire: 'varint', value: 1 }] }] },
  ];
}

function boolMutations(): Mutation[] {
  return [
    { label: '2', group: 'fuzz:numbers', make: (no) => [{ no, wire: 'varint', value: 2 }] },
    { label: '2^64-1', group: 'fuzz:numbers', make: (no) => [{ no, wire: 'varint', value: 2n ** 64n - 1n }] },
    { label: 'as bytes', group: 'fuzz:wire', make: (no) => [{ no, wire: 'bytes', value: 'true' }] },
  ];
}

/** The cheap valid request every field mutation starts from (previews off, one step, fewest frames). */
function baseFields(base: FuzzBase): { top: WireField[]; preview: WireField[]; requester: WireField[] } {
  return {
    top: [
      { no: 1, wire: 'bytes', value: base.prompt },
      { no: 3, wire: 'varint', value: 7 },
      { no: 4, wire: 'varint', value: base.minSteps },
      { no: 6, wire: 'varint', value: base.minFrames },
      { no: 12, wire: 'varint', value: 1 },
    ],
    preview: [{ no: 1, wire: 'varint', value: 1 }],
    requester: [
      { no: 1, wire: 'bytes', value: 'fuzzer' },
      { no: 3, wire: 'varint', value: 4 },
    ],
  };
}

function requestWith(base: FuzzBase, spec: FieldSpec, replacement: WireField[]): Buffer {
  const b = baseFields(base);
  const swap = (fields: WireField[]) => [...fields.filter((f) => f.no !== spec.no), ...replacement];
  if (spec.parent === 'preview') b.preview = swap(b.preview);
  else if (spec.parent === 'requester') b.requester = swap(b.requester);
  else b.top = swap(b.top);
  const top = [...b.top];
  if (!spec.parent || spec.parent === 'preview') if (!top.some((f) => f.no === 13)) top.push({ no: 13, wire: 'message', value: b.preview });
  if (!top.some((f) => f.no === 15)) top.push({ no: 15, wire: 'message', value: b.requester });
  if (spec.parent === 'requester' && !top.some((f) => f.no === 13)) top.push({ no: 13, wire: 'message', value: b.preview });
  return encodeFields(top);
}

export function baseRequest(base: FuzzBase): Buffer {
  const b = baseFields(base);
  return encodeFields([...b.top, { no: 13, wire: 'message', value: b.preview }, { no: 15, wire: 'message', value: b.requester }]);
}

function fieldCases(rng: Rng, base: FuzzBase): FuzzCase[][] {
  return FIELDS.map((spec) => {
    const mutations =
      spec.type === 'string' ? stringMutations(rng, spec.limited ?? false)
      : spec.type === 'uint32' ? uintMutations(rng)
      : spec.type === 'float' ? floatMutations(rng)
      : spec.type === 'enum' ? enumMutations(rng, false)
      : spec.type === 'repeated-enum' ? enumMutations(rng, true)
      : spec.type === 'bool' ? boolMutations()
      : messageMutations(rng);
    return mutations.map((m): FuzzCase => ({
      name: `${m.group} ${spec.path} ${m.label}`,
      group: m.group,
      kind: 'generate',
      body: requestWith(base, spec, m.make(spec.no)),
      auth: 'good',
      // A wrong wire type shifts the decoder: whatever field it lands on is fair to name.
      ...(m.group === 'fuzz:wire' ? {} : { fields: spec.names ?? [spec.path] }),
      ...(m.mustReject ? { mustReject: true } : {}),
    }));
  });
}

function wholeMessageCases(rng: Rng, base: FuzzBase): FuzzCase[] {
  const good = baseRequest(base);
  const c = (label: string, body: Buffer, extra: Partial<FuzzCase> = {}): FuzzCase => ({ name: `fuzz:wire GenerateRequest ${label}`, group: 'fuzz:wire', kind: 'generate', body, auth: 'good', ...extra });
  const cut = rng.int(1, good.length - 1);
  return [
    c('empty body', Buffer.alloc(0), { fields: ['prompt'], mustReject: true }),
    c(`cut at byte ${cut} of ${good.length}`, good.subarray(0, cut)),
    c('random garbage (64 bytes)', rng.bytes(64)),
    c('random garbage (1 MiB)', rng.bytes(MiB)),
    c('all 0xff', Buffer.alloc(256, 0xff)),
    c('field number 0', Buffer.concat([Buffer.from([0x00, 0x01]), good])),
    c('wire type 3 (group start)', Buffer.concat([Buffer.from([(99 << 3) | 3]), good])),
    c('wire type 7 (invalid)', Buffer.concat([good, Buffer.from([(5 << 3) | 7, 0x01])])),
    c('unknown field 99 (varint)', Buffer.concat([good, encodeFields([{ no: 99, wire: 'varint', value: 42 }])])),
    c('unknown field 18 with 1 MiB', Buffer.concat([good, encodeFields([{ no: 18, wire: 'bytes', value: Buffer.alloc(MiB, 0x41) }])])),
    c('highest field number with 1 KiB', Buffer.concat([good, encodeFields([{ no: 536_870_911, wire: 'bytes', value: rng.bytes(1024) }])])),
    c('base request twice (fields merge)', Buffer.concat([good, good])),
    c('varint of 11 bytes', Buffer.concat([Buffer.from([(4 << 3) | 0]), Buffer.alloc(10, 0xff), Buffer.from([0x01]), good])),
  ];
}

function metadataCases(base: FuzzBase): FuzzCase[] {
  const body = baseRequest(base);
  const m = (label: string, auth: Auth, extra: Partial<FuzzCase> = {}): FuzzCase => ({ name: `fuzz:metadata ${label}`, group: 'fuzz:metadata', kind: 'generate', body, auth, ...extra });
  const unauth = [16]; // UNAUTHENTICATED
  return [
    m('no authorization', 'none', { codes: unauth }),
    m('a wrong token', 'wrong', { codes: unauth }),
    m('Basic instead of Bearer', 'basic', { codes: unauth }),
    m('an empty authorization', 'empty', { codes: unauth }),
    m('a 6 KiB token', 'huge', { codes: unauth }),
    m('"Bearer" with no token', 'bearer-only', { codes: unauth }),
    m('a wrong token on ListModels', 'wrong', { kind: 'list', body: Buffer.alloc(0), codes: unauth }),
    m('a wrong token on Cancel', 'wrong', { kind: 'cancel', body: encodeFields([{ no: 1, wire: 'bytes', value: 'x' }]), codes: unauth }),
    m('100 extra metadata keys', 'good', { extraMetadata: Array.from({ length: 100 }, (_, i) => [`x-fuzz-${i}`, 'v'.repeat(20)] as [string, string]) }),
    m('binary metadata garbage', 'good', { extraMetadata: [['x-fuzz-bin', Buffer.from([0, 1, 2, 0xff, 0xfe])]] }),
    m('odd printable characters in a metadata value', 'good', { extraMetadata: [['x-fuzz', ' %00 %0A ${} \\ "quoted" ~ ']] }),
    m('a fake retry-after-ms and error code', 'good', { extraMetadata: [['retry-after-ms', '-1'], ['animate-error-code', 'INTERNAL']] }),
  ];
}

function cancelCases(rng: Rng): FuzzCase[] {
  const c = (label: string, fields: WireField[]): FuzzCase => ({ name: `fuzz:cancel ${label}`, group: 'fuzz:cancel', kind: 'cancel', body: encodeFields(fields), auth: 'good', fields: ['request_id', 'reason'] });
  return [
    c('empty request', []),
    c('unknown id', [{ no: 1, wire: 'bytes', value: 'no-such-job' }]),
    c('1 MiB id', [{ no: 1, wire: 'bytes', value: 'i'.repeat(MiB) }]),
    c('id with control characters', [{ no: 1, wire: 'bytes', value: 'a\u0000b\nERROR forged' }]),
    c('id of invalid UTF-8', [{ no: 1, wire: 'bytes', value: Buffer.from([0xff, 0xfe]) }]),
    c('100 KiB reason', [{ no: 1, wire: 'bytes', value: 'no-such-job' }, { no: 2, wire: 'bytes', value: 'r'.repeat(100 * 1024) }]),
    c('1 MiB reason of control characters', [{ no: 1, wire: 'bytes', value: 'x' }, { no: 2, wire: 'bytes', value: Buffer.alloc(MiB, 0x1b) }]),
    c('id as a varint', [{ no: 1, wire: 'varint', value: 5 }]),
    c('reason as fixed64', [{ no: 2, wire: 'fixed64', value: 1n }]),
    // Random bytes may break the first tag, before any field: then the whole request is what is named.
    { ...c('random garbage', [{ no: 1, wire: 'raw', value: rng.bytes(32) }]), fields: ['request_id', 'reason', 'request'] },
  ];
}

function otherRpcCases(rng: Rng): FuzzCase[] {
  const h = (label: string, body: Buffer): FuzzCase => ({ name: `fuzz:rpcs health ${label}`, group: 'fuzz:rpcs', kind: 'health', body, auth: 'good' });
  const l = (label: string, body: Buffer): FuzzCase => ({ name: `fuzz:rpcs ListModels ${label}`, group: 'fuzz:rpcs', kind: 'list', body, auth: 'good' });
  return [
    h('unknown service', encodeFields([{ no: 1, wire: 'bytes', value: 'nope.v1.Nope' }])),
    h('1 MiB service name', encodeFields([{ no: 1, wire: 'bytes', value: 's'.repeat(MiB) }])),
    h('100 KiB service name of control characters', encodeFields([{ no: 1, wire: 'bytes', value: Buffer.alloc(100 * 1024, 0x0a) }])),
    h('random garbage', rng.bytes(48)),
    l('unknown fields', encodeFields([{ no: 7, wire: 'bytes', value: rng.bytes(100) }])),
    l('random garbage', rng.bytes(48)),
    l('1 MiB unknown field', encodeFields([{ no: 3, wire: 'bytes', value: Buffer.alloc(MiB, 1) }])),
  ];
}

function http2Cases(base: FuzzBase): FuzzCase[] {
  const good = baseRequest(base);
  const h = (label: string, body: Buffer, path: string = METHODS.generate, headers: Record<string, string> = {}, extra: Partial<FuzzCase> = {}): FuzzCase => ({
    name: `fuzz:http2 ${label}`, group: 'fuzz:http2', kind: 'http2', body, http2: { path, headers }, auth: 'good', transportLevel: true, ...extra,
  });
  return [
    h('frame declares 100 bytes, sends 10', grpcFrame(good.subarray(0, 10), { declaredLength: 100 })),
    h('compressed flag without grpc-encoding', grpcFrame(good, { compressed: true })),
    h('gzip flag on bytes that are not gzip', grpcFrame(good, { compressed: true }), METHODS.generate, { 'grpc-encoding': 'gzip' }),
    h('unknown grpc-encoding br', grpcFrame(good, { compressed: true }), METHODS.generate, { 'grpc-encoding': 'br' }),
    h('two messages on a server-streaming call', Buffer.concat([grpcFrame(good), grpcFrame(good)])),
    h('no message at all', Buffer.alloc(0)),
    h('half a length prefix', Buffer.from([0, 0, 0])),
    h('5 MiB message (over the 4 MiB limit)', grpcFrame(Buffer.alloc(5 * MiB, 0x41))),
    h('unknown method', grpcFrame(good), '/animate.v1.Animator/Nope'),
    h('unknown service', grpcFrame(good), '/nope.v1.Nope/Generate'),
    h('text/plain content type', grpcFrame(good), METHODS.generate, { 'content-type': 'text/plain' }),
    h('garbage grpc-timeout', grpcFrame(good), METHODS.generate, { 'grpc-timeout': 'soon' }),
  ];
}

/** Builds `count` cases from `seed`: every field first (interleaved), then more of the catalogue, then random mixes. */
export function buildFuzzCases(count: number, seed: number, base: FuzzBase): FuzzCase[] {
  const rng = new Rng(seed);
  const lanes = [...fieldCases(rng, base), wholeMessageCases(rng, base), metadataCases(base), cancelCases(rng), otherRpcCases(rng), http2Cases(base)]
    .filter((l) => l.length)
    .map((l) => rng.shuffle(l));
  const out: FuzzCase[] = [];
  // Round-robin over lanes: any prefix of the list touches every field before it repeats one.
  for (let round = 0; out.length < count; round += 1) {
    let added = false;
    for (const lane of lanes) {
      const c = lane[round];
      if (c && out.length < count) {
        out.push(c);
        added = true;
      }
    }
    if (!added) break;
  }
  // Past the catalogue: random stacks of two or three field mutations in one request.
  const catalogue = lanes.flat().filter((c) => c.kind === 'generate' && c.group !== 'fuzz:metadata');
  for (let i = 0; out.length < count; i += 1) {
    const a = rng.pick(catalogue);
    const b = rng.pick(catalogue);
    out.push({ name: `fuzz:mixed #${i} (${a.name} + ${b.name})`.slice(0, 200), group: 'fuzz:mixed', kind: 'generate', body: Buffer.concat([a.body, b.body]), auth: 'good' });
  }
  return out;
}
