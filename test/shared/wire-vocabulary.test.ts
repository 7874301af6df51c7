// The wire's words are defined once in shared/wire/ and shared/errors.ts: the formats and platforms (checked here
// against the proto's own enums), the HOST:PORT rule and default address (the same for the settings table and the
// daemon), and the error codes (one casing in every wing's table, one CodedError shape, the code read back from the
// trailer the way the daemon writes it).
import { readFileSync } from 'node:fs';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_PATTERN, CodedError } from '../../shared/errors.ts';
import {
  CLIP_FORMATS, CLIP_FORMAT_TO_WIRE, CLIP_MIME_TYPES, PREVIEW_FORMATS, PREVIEW_FORMAT_TO_WIRE, clipFormatFromMime, clipFormatFromWire, previewFormatFromWire,
} from '../../shared/wire/formats.ts';
import { PLATFORM_NAMES, PLATFORM_TO_WIRE, platformFromWire } from '../../shared/wire/platforms.ts';
import { DEFAULT_DAEMON_ADDRESS, isHostPort, parseHostPort } from '../../shared/wire/address.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER, readDaemonErrorCode, readRetryAfterSeconds } from '../../shared/wire/error-codes.ts';
import { VARIABLES } from '../../shared/config/variables.ts';
import { BotError, BotErrorCode, InvalidOptionsError } from '../../bots/core/errors.ts';
import { botErrorFromRpc } from '../../bots/core/rpc-errors.ts';
import { clientCodeForStatus } from '../../shared/rpc/rpc-error.ts';
import { DaemonError, InvalidArgumentError, QueueFullError } from '../../inference/errors.ts';
import { MediaError, MediaErrorCode, OutputTooLargeError } from '../../inference/media/errors.ts';
import { SchedulerErrorCode, StepOutOfOrderError, UnknownSolverError } from '../../inference/schedulers/errors.ts';
import { startDaemon } from '../../inference/server/daemon.ts';

/** The value names of `enum <name> { … }` in the proto, in order. */
function protoEnum(name: string): string[] {
  const proto = readFileSync('proto/animate/v1/animator.proto', 'utf8');
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(proto)?.[1] ?? '';
  return [...body.matchAll(/^\s*([A-Z0-9_]+)\s*=\s*\d+;/gm)].map((m) => m[1]!);
}

describe('formats', () => {
  it('name every value of the proto enums but UNSPECIFIED, both ways', () => {
    expect(CLIP_FORMATS.map((f) => CLIP_FORMAT_TO_WIRE[f])).toEqual(protoEnum('OutputFormat').filter((v) => !v.endsWith('UNSPECIFIED')));
    expect(PREVIEW_FORMATS.map((f) => PREVIEW_FORMAT_TO_WIRE[f])).toEqual(protoEnum('PreviewFormat').filter((v) => !v.endsWith('UNSPECIFIED')));
    for (const f of CLIP_FORMATS) expect(clipFormatFromWire(CLIP_FORMAT_TO_WIRE[f])).toBe(f);
    for (const f of PREVIEW_FORMATS) expect(previewFormatFromWire(PREVIEW_FORMAT_TO_WIRE[f])).toBe(f);
  });
  it('read UNSPECIFIED as the proto says, and refuse what they do not know', () => {
    expect(clipFormatFromWire('OUTPUT_FORMAT_UNSPECIFIED')).toBe('mp4');
    expect(clipFormatFromWire('AVI')).toBeUndefined();
    expect(clipFormatFromWire('toString')).toBeUndefined();
    expect(previewFormatFromWire('PREVIEW_FORMAT_UNSPECIFIED')).toBe('webp');
    expect(previewFormatFromWire(undefined)).toBe('webp');
  });
  it('have one MIME type each, read back to the format', () => {
    expect(new Set(Object.values(CLIP_MIME_TYPES)).size).toBe(CLIP_FORMATS.length);
    for (const f of CLIP_FORMATS) expect(clipFormatFromMime(CLIP_MIME_TYPES[f])).toBe(f);
    expect(clipFormatFromMime('video/webm')).toBeUndefined();
  });
});

describe('platforms', () => {
  it('name every value of the proto enum but UNSPECIFIED, both ways', () => {
    expect(PLATFORM_NAMES.map((p) => PLATFORM_TO_WIRE[p])).toEqual(protoEnum('Platform').filter((v) => v !== 'PLATFORM_UNSPECIFIED'));
    for (const p of PLATFORM_NAMES) expect(platformFromWire(PLATFORM_TO_WIRE[p])).toBe(p);
    expect(platformFromWire('PLATFORM_UNSPECIFIED')).toBeUndefined();
  });
});

describe('HOST:PORT', () => {
  const listen = VARIABLES.find((v) => v.name === 'ANIMATE_LISTEN')!;
  const remote = VARIABLES.find((v) => v.name === 'ANIMATE_DAEMON_ADDRESS')!;
  const samples: Array<[string, boolean]> = [
    [DEFAULT_DAEMON_ADDRESS, true], ['0.0.0.0:0', true], ['gpu-box.lan:6000', true], ['[::1]:50051', true], ['[::ffff:127.0.0.1]:1', true],
    ['localhost', false], ['localhost:', false], [':50051', false], ['a:65536', false], ['a:123456', false], ['under_score:1', false], ['::1:50051', false], ['a b:1', false],
  ];
  it('one rule for the settings and the daemon', () => {
    for (const [value, ok] of samples) {
      expect(isHostPort(value), value).toBe(ok);
      expect(listen.schema.safeParse(value).success, `ANIMATE_LISTEN=${value}`).toBe(ok);
      expect(remote.schema.safeParse(value).success, `ANIMATE_DAEMON_ADDRESS=${value}`).toBe(ok);
    }
    expect(parseHostPort('[::1]:65535')).toEqual({ host: '[::1]', port: 65535 });
    expect(listen.default).toBe(DEFAULT_DAEMON_ADDRESS);
  });
  it('the daemon refuses an address the settings refuse, before it loads anything', async () => {
    const refused = await startDaemon({ listen: 'a:65536' }).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect((refused as InvalidArgumentError).message).toBe(`listen: expected HOST:PORT, e.g. ${DEFAULT_DAEMON_ADDRESS}`);
  });
});

describe('error codes', () => {
  it('every table of every wing is in one casing', () => {
    const tables = { DaemonErrorCode, BotErrorCode, MediaErrorCode, SchedulerErrorCode };
    const wrong = Object.entries(tables).flatMap(([table, codes]) => Object.values(codes).filter((c) => !ERROR_CODE_PATTERN.test(c)).map((c) => `${table}: ${c}`));
    expect(wrong).toEqual([]);
    expect(Object.values(tables).reduce((n, t) => n + Object.keys(t).length, 0)).toBeGreaterThanOrEqual(40);
  });
  it('every wing raises CodedErrors with the class name and the code', () => {
    const made: Array<[CodedError, string, string]> = [
      [new QueueFullError('full', 1500), 'QueueFullError', 'QUEUE_FULL'],
      [new InvalidOptionsError('steps must be…', 'steps'), 'InvalidOptionsError', 'INVALID_OPTIONS'],
      [new OutputTooLargeError('too big'), 'OutputTooLargeError', 'OUTPUT_TOO_LARGE'],
      [new UnknownSolverError('no such solver', 'scheduler'), 'UnknownSolverError', 'SCHEDULER_UNKNOWN_SOLVER'],
      [new StepOutOfOrderError('step 3 before 2'), 'StepOutOfOrderError', 'SCHEDULER_STEP_OUT_OF_ORDER'],
    ];
    for (const [err, name, code] of made) {
      expect(err).toBeInstanceOf(CodedError);
      expect({ name: err.name, code: err.code }).toEqual({ name, code });
    }
    expect(made[0]![0]).toBeInstanceOf(DaemonError);
    expect(made[1]![0]).toBeInstanceOf(BotError);
    expect(made[2]![0]).toBeInstanceOf(MediaError);
    // Daemon errors carry their code, not a gRPC status: the wire's table decides that.
    expect(Object.keys(made[0]![0])).not.toContain('grpcStatus');
  });
  it('a client reads back a known code, a newer daemon code, and nothing from junk', () => {
    const trailer = (value?: string) => {
      const m = new Metadata();
      if (value !== undefined) m.set(ERROR_CODE_TRAILER, value);
      return m;
    };
    expect(readDaemonErrorCode(trailer('WORKER_CRASHED'))).toEqual({ known: 'WORKER_CRASHED', raw: 'WORKER_CRASHED' });
    expect(readDaemonErrorCode(trailer('GPU_ON_FIRE'))).toEqual({ known: undefined, raw: 'GPU_ON_FIRE' });
    expect(readDaemonErrorCode(trailer('worker_crashed'))).toEqual({ known: undefined, raw: undefined });
    expect(readDaemonErrorCode(trailer())).toEqual({ known: undefined, raw: undefined });
    const retry = new Metadata();
    retry.set('retry-after-ms', '1500');
    expect(readRetryAfterSeconds(retry)).toBe(2);
    expect(readRetryAfterSeconds(new Metadata())).toBeUndefined();
  });
  it('the bot shows a newer daemon code, with its status sentence, and branches on known ones', () => {
    const failure = (code: number, value: string) => Object.assign(new Error('x'), { code, details: 'internal detail /srv/x', metadata: (() => { const m = new Metadata(); m.set(ERROR_CODE_TRAILER, value); return m; })() });
    const newer = botErrorFromRpc(failure(status.INTERNAL, 'GPU_ON_FIRE'));
    expect({ code: newer.code, message: newer.message }).toEqual({ code: BotErrorCode.GenerationFailed, message: 'The animation server hit an internal error while making this clip (GPU_ON_FIRE).' });
    const known = botErrorFromRpc(failure(status.INTERNAL, DaemonErrorCode.EncodeFailed));
    expect(known.message).toBe('The clip was made but could not be encoded as a video; try again (ENCODE_FAILED).');
  });
  it("a newer daemon code falls back by its status: the daemon's statuses from the bots' rows, the rest from the client's table", () => {
    const failure = (code: number, value: string) => Object.assign(new Error('x'), { code, details: 'busy', metadata: (() => { const m = new Metadata(); m.set(ERROR_CODE_TRAILER, value); return m; })() });
    // UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED come from the client's table (clientCodeForStatus), written once.
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED].map(clientCodeForStatus)).toEqual(['DAEMON_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'CANCELLED']);
    expect(clientCodeForStatus(status.RESOURCE_EXHAUSTED)).toBeUndefined();
    const cases: Array<[number, string]> = [
      [status.UNAVAILABLE, BotErrorCode.DaemonUnavailable], [status.DEADLINE_EXCEEDED, BotErrorCode.DeadlineExceeded],
      [status.RESOURCE_EXHAUSTED, BotErrorCode.QueueFull], [status.INVALID_ARGUMENT, BotErrorCode.InvalidOptions],
    ];
    expect(cases.map(([s]) => botErrorFromRpc(failure(s, 'NEWER_CODE')).code)).toEqual(cases.map(([, c]) => c));
  });
});
