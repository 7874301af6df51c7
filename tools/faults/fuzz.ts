// Runs the fuzzer's cases against a live daemon and judges every answer: the call ends before its deadline, a
// client mistake never gets INTERNAL or UNKNOWN, details stay within 1 KB and INVALID_ARGUMENT names the field,
// and the daemon's process is still there afterwards (checked every few cases, and with a real generation at the end).
import * as grpc from '@grpc/grpc-js';
import type { DaemonProcess } from './daemon-process.ts';
import { METHODS, type Auth, type FuzzCase } from './fuzz-cases.ts';
import { bearer } from './probe.ts';
import { rawClient, rawHttp2, rawServerStream, rawUnary, type CallOutcome } from './wire.ts';

/** Status details longer than this break issue 19's promise (and wedge HTTP/2 connections at ~100 KB). */
export const MAX_DETAILS_BYTES = 1024;
/** Check the daemon's pid after this many cases. */
const ALIVE_EVERY = 10;

export interface FuzzVerdict {
  fuzzCase: FuzzCase;
  outcome: CallOutcome;
  /** Empty when the answer keeps every promise. */
  problems: Array<{ kind: 'hangs' | 'badStatus'; why: string }>;
}

function metadataFor(auth: Auth, token: string, extra: FuzzCase['extraMetadata']): grpc.Metadata {
  const md = new grpc.Metadata();
  switch (auth) {
    case 'good': md.set('authorization', `Bearer ${token}`); break;
    case 'none': break;
    case 'wrong': md.set('authorization', `Bearer ${token}x`); break;
    case 'basic': md.set('authorization', `Basic ${Buffer.from(`user:${token}`).toString('base64')}`); break;
    case 'empty': md.set('authorization', ''); break;
    case 'huge': md.set('authorization', `Bearer ${'t'.repeat(6 * 1024)}`); break;
    case 'bearer-only': md.set('authorization', 'Bearer '); break;
    case 'binary': md.set('authorization-bin', Buffer.from([0xff, 0x00])); break;
  }
  for (const [k, v] of extra ?? []) md.add(k, v);
  return md;
}

export function judge(c: FuzzCase, o: CallOutcome): FuzzVerdict['problems'] {
  const problems: FuzzVerdict['problems'] = [];
  const name = grpc.status[o.code] ?? String(o.code);
  if (o.hung || o.code === grpc.status.DEADLINE_EXCEEDED) {
    problems.push({ kind: 'hangs', why: `${c.name}: no answer within the deadline (${Math.round(o.ms)} ms)` });
    return problems;
  }
  const bytes = Buffer.byteLength(o.details ?? '', 'utf8');
  if (bytes > MAX_DETAILS_BYTES) problems.push({ kind: 'badStatus', why: `${c.name}: ${name} details are ${bytes} bytes (at most ${MAX_DETAILS_BYTES})` });
  if ((o.code === grpc.status.INTERNAL || o.code === grpc.status.UNKNOWN) && !(c.transportLevel && o.code === grpc.status.INTERNAL)) {
    problems.push({ kind: 'badStatus', why: `${c.name}: ${name} for a client mistake ("${o.details.slice(0, 100)}")` });
  }
  if (c.codes && !c.codes.includes(o.code)) problems.push({ kind: 'badStatus', why: `${c.name}: got ${name}, expected ${c.codes.map((k) => grpc.status[k]).join(' or ')}` });
  if (c.mustReject && o.code === grpc.status.OK) problems.push({ kind: 'badStatus', why: `${c.name}: accepted, but it must be refused` });
  if (o.code === grpc.status.INVALID_ARGUMENT && c.fields && !c.fields.some((f) => o.details.includes(f))) {
    problems.push({ kind: 'badStatus', why: `${c.name}: INVALID_ARGUMENT does not name ${c.fields.join(' or ')}: "${o.details.slice(0, 100)}"` });
  }
  return problems;
}

async function send(c: FuzzCase, client: grpc.Client, address: string, token: string, deadlineMs: number): Promise<CallOutcome> {
  const metadata = metadataFor(c.auth, token, c.extraMetadata);
  switch (c.kind) {
    case 'generate':
      return rawServerStream(client, METHODS.generate, c.body, { metadata, deadlineMs, cancelOnFirstMessage: true });
    case 'cancel':
      return rawUnary(client, METHODS.cancel, c.body, { metadata, deadlineMs });
    case 'list':
      return rawUnary(client, METHODS.list, c.body, { metadata, deadlineMs });
    case 'health':
      return rawUnary(client, METHODS.health, c.body, { metadata, deadlineMs });
    case 'http2': {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...c.http2!.headers };
      return rawHttp2(address, { path: c.http2!.path, headers, body: c.body, deadlineMs });
    }
  }
}

export interface FuzzRunOptions {
  daemon: DaemonProcess;
  token: string;
  deadlineMs: number;
  concurrency: number;
  /** Called with each verdict as it comes (progress, rows). */
  onVerdict: (v: FuzzVerdict) => void;
  /** Called once per crash, however many workers find the daemon dead; returns a fresh one to carry on with (or
   *  undefined to stop). Stopping the dead one's handle is the caller's (the runner owns its daemons). */
  onCrash: (why: string) => Promise<DaemonProcess | undefined>;
}

/** Sends every case, `concurrency` at a time, over a few shared channels (as bots share one connection). */
export async function runFuzz(cases: FuzzCase[], opts: FuzzRunOptions): Promise<void> {
  let daemon = opts.daemon;
  let clients = [rawClient(daemon.address), rawClient(daemon.address)];
  let next = 0;
  let sinceCheck = 0;
  let stopped = false;
  // The one restart in progress. Every worker that finds the daemon dead awaits this same promise, so one crash is
  // reported once and starts one new daemon; without it two workers (or a check made while a restart still runs)
  // would each call onCrash, start a daemon apiece and leave one of them running unowned.
  let restarting: Promise<void> | undefined;
  const checkAlive = (near: string): Promise<void> => {
    if (restarting) return restarting;
    if (daemon.alive()) return Promise.resolve();
    const dead = daemon;
    restarting = (async () => {
      const fresh = await opts.onCrash(`the daemon died during the fuzz, near case ${near}: ${dead.exitDescription()}`);
      for (const c of clients) c.close();
      if (!fresh) {
        stopped = true;
        return;
      }
      daemon = fresh;
      clients = [rawClient(daemon.address), rawClient(daemon.address)];
    })().finally(() => (restarting = undefined));
    return restarting;
  };
  const worker = async (lane: number) => {
    while (!stopped && next < cases.length) {
      // Nothing is sent while a restart runs: the old daemon is dead and its channels are being closed.
      if (restarting) await restarting;
      if (stopped || next >= cases.length) break;
      const c = cases[next++]!;
      const target = daemon;
      // A case the client library itself refuses to send is a bug of the catalogue, reported as such.
      const outcome = await send(c, clients[lane % clients.length]!, target.address, opts.token, opts.deadlineMs).catch(
        (err: Error): CallOutcome => ({ code: grpc.status.UNKNOWN, details: `the fault suite could not send this case: ${err.message}`, messages: [], hung: false, ms: 0 }),
      );
      if (target !== daemon || !target.alive()) {
        // The daemon died while this case was in flight (or was replaced meanwhile): the crash is the verdict, reported
        // once by checkAlive, not the UNAVAILABLE or closed-channel status of a connection to a dead process.
        opts.onVerdict({ fuzzCase: c, outcome, problems: [] });
        await checkAlive(c.name);
        continue;
      }
      opts.onVerdict({ fuzzCase: c, outcome, problems: judge(c, outcome) });
      if (++sinceCheck >= ALIVE_EVERY) {
        sinceCheck = 0;
        await checkAlive(c.name);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i)));
  await checkAlive(cases.at(-1)?.name ?? '?');
  for (const c of clients) c.close();
}
