// The proto's list of error statuses is the contract clients branch on: it must match what the daemon can send. The
// daemon sends a status only through a DaemonError (toServiceError, by the wire's one table DAEMON_ERROR_STATUS), so
// every exported DaemonError class is made here and sent through toServiceError; its (gRPC status,
// animate-error-code) pair must be a row of the header, every row must be one of them, and a client reading the
// trailer back must find the same code.
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import * as errors from '../../inference/errors.ts';
import { DaemonError, DaemonErrorCode } from '../../inference/errors.ts';
import { toServiceError } from '../../inference/server/animator-service.ts';
import { DAEMON_ERROR_STATUS, daemonCodesFor, readDaemonErrorCode } from '../../shared/wire/error-codes.ts';
import type { Metadata } from '@grpc/grpc-js';

const PROTO = 'proto/animate/v1/animator.proto';
const STATUS_NAMES = new Set(Object.keys(status).filter((k) => Number.isNaN(Number(k))));

/** Rows "//   STATUS  CODE  text" of the comment above `syntax`: the documented (status, code) pairs. */
function documentedPairs(): Array<{ status: string; code: string }> {
  const header = readFileSync(PROTO, 'utf8').split(/^syntax\b/m)[0]!;
  const rows: Array<{ status: string; code: string }> = [];
  for (const line of header.split('\n')) {
    const m = /^\/\/\s+([A-Z_]+)\s+([A-Z_]+)\s+\S/.exec(line);
    if (m && STATUS_NAMES.has(m[1]!)) rows.push({ status: m[1]!, code: m[2]! });
  }
  return rows;
}

type AnyClass = new (...args: unknown[]) => unknown;
/** Argument lists tried in turn: the error classes take (message), (field, message), (name, known[]), (message, ms). */
const ARGUMENTS: unknown[][] = [['x'], ['x', 'y'], ['x', []], ['x', 1]];

/** Every concrete DaemonError class exported by inference/errors.ts, instantiated. */
function sentPairs(): Array<{ className: string; status: string; code: string; readBack: string | undefined }> {
  const out: Array<{ className: string; status: string; code: string; readBack: string | undefined }> = [];
  for (const [className, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || value === DaemonError || !(value.prototype instanceof DaemonError)) continue;
    let made: DaemonError | undefined;
    for (const args of ARGUMENTS) {
      try {
        made = new (value as unknown as AnyClass)(...args) as DaemonError;
        break;
      } catch {
        // the next argument list
      }
    }
    if (!made) throw new Error(`${className} could not be instantiated with any of ${JSON.stringify(ARGUMENTS)}`);
    const sent = toServiceError(made);
    out.push({ className, status: status[sent.code]!, code: made.code, readBack: readDaemonErrorCode(sent.metadata as Metadata).known });
  }
  return out;
}

describe('the proto documents the error statuses the daemon sends', () => {
  const documented = documentedPairs();
  const sent = sentPairs();

  it('finds both sides', () => {
    // A header reshaped so that no row parses, or an errors module read wrongly, must not pass as "all match".
    expect(documented.length).toBeGreaterThanOrEqual(10);
    expect(sent.length).toBeGreaterThanOrEqual(10);
    expect(new Set(sent.map((s) => s.code))).toEqual(new Set(Object.values(DaemonErrorCode)));
  });

  it('every status and code the daemon can send is documented with that status', () => {
    const rows = new Set(documented.map((d) => `${d.status} ${d.code}`));
    const missing = sent.filter((s) => !rows.has(`${s.status} ${s.code}`)).map((s) => `${s.status} ${s.code} (${s.className})`);
    expect(missing).toEqual([]);
  });

  it('a client reads back the code each error was sent with', () => {
    const misread = sent.filter((s) => s.readBack !== s.code).map((s) => `${s.className}: sent ${s.code}, read ${s.readBack}`);
    expect(misread).toEqual([]);
  });

  it('the wire table is the documented table, both ways', () => {
    const table = Object.entries(DAEMON_ERROR_STATUS).map(([code, st]) => `${status[st]} ${code}`).sort();
    expect(table).toEqual(documented.map((d) => `${d.status} ${d.code}`).sort());
    // What a client may find beside a status: RESOURCE_EXHAUSTED comes with QUEUE_FULL or TOO_MANY_STREAMS, OK never.
    expect(daemonCodesFor(status.RESOURCE_EXHAUSTED).sort()).toEqual([DaemonErrorCode.QueueFull, DaemonErrorCode.TooManyStreams]);
    expect(daemonCodesFor(status.OK)).toEqual([]);
  });

  it('every documented row is sent by some error class', () => {
    const pairs = new Set(sent.map((s) => `${s.status} ${s.code}`));
    const never = documented.filter((d) => !pairs.has(`${d.status} ${d.code}`)).map((d) => `${d.status} ${d.code}`);
    expect(never).toEqual([]);
  });

  it('names FAILED_PRECONDITION, PERMISSION_DENIED, ALREADY_EXISTS and the trailer', () => {
    const statuses = new Set(documented.map((d) => d.status));
    for (const s of ['FAILED_PRECONDITION', 'PERMISSION_DENIED', 'ALREADY_EXISTS', 'RESOURCE_EXHAUSTED']) expect(statuses).toContain(s);
    expect(readFileSync(PROTO, 'utf8').split(/^syntax\b/m)[0]).toMatch(/`animate-error-code`/);
  });
});
