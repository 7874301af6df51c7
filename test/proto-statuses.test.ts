// The proto's list of error statuses is the contract clients branch on: it must match what the daemon can send. The
// daemon sends a status only through a DaemonError (toServiceError), so every exported DaemonError class is made
// here, and its (gRPC status, animate-error-code) pair must be a row of the header; every row must be one of them.
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import * as errors from '../inference/errors.ts';
import { DaemonError, DaemonErrorCode } from '../inference/errors.ts';

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
function sentPairs(): Array<{ className: string; status: string; code: string }> {
  const out: Array<{ className: string; status: string; code: string }> = [];
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
    out.push({ className, status: status[made.grpcStatus], code: made.code });
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
