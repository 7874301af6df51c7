// Probes the fault suite uses between and after attacks: is the daemon's process alive, does its health check
// answer SERVING, does a small real generation still finish. Also the typed-client helpers the scenarios share.
import * as grpc from '@grpc/grpc-js';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { wireStatusOf } from '../../shared/rpc/rpc-error.ts';
import type { GenerateEvent__Output, GenerateRequest } from '../../shared/rpc/types.ts';
import type { DaemonProcess } from './daemon-process.ts';
import { METHODS } from './fuzz-cases.ts';
import { encodeFields, rawUnary, type CallOutcome } from './wire.ts';

/** What a small, cheap, real generation asks for (filled from the model's limits). */
export interface SmallJob {
  prompt: string;
  steps: number;
  frames: number;
}

export function bearer(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

/** grpc.health.v1 Check on an existing client's channel; resolves with the outcome and whether it said SERVING. */
export async function healthCheck(client: grpc.Client, token: string | undefined, deadlineMs: number): Promise<CallOutcome & { serving: boolean }> {
  const out = await rawUnary(client, METHODS.health, encodeFields([{ no: 1, wire: 'bytes', value: '' }]), { metadata: bearer(token), deadlineMs });
  // HealthCheckResponse { status = 1 }: SERVING is the varint 1 in field 1.
  const body = out.messages[0];
  return { ...out, serving: out.code === 0 && !!body && body[0] === 0x08 && body[1] === 0x01 };
}

export interface Settled {
  events: GenerateEvent__Output[];
  error?: grpc.ServiceError;
  ms: number;
}

/** Reads a whole Generate stream; never rejects. */
export async function settle(stream: AsyncIterable<GenerateEvent__Output>, onEvent?: (e: GenerateEvent__Output) => void): Promise<Settled> {
  const t0 = performance.now();
  const events: GenerateEvent__Output[] = [];
  try {
    for await (const e of stream) {
      events.push(e);
      onEvent?.(e);
    }
    return { events, ms: performance.now() - t0 };
  } catch (err) {
    // The suite judges the wire's statuses: the client's DaemonCallError carries the status it came with.
    const wire = wireStatusOf(err);
    if (wire) return { events, error: Object.assign(new Error(wire.details), wire) as grpc.ServiceError, ms: performance.now() - t0 };
    return { events, error: Object.assign(new Error(String(err)), { code: grpc.status.UNKNOWN, details: String(err), metadata: new grpc.Metadata() }) as grpc.ServiceError, ms: performance.now() - t0 };
  }
}

export function clipSize(events: GenerateEvent__Output[]): number {
  return events.reduce((n, e) => n + (e.clip ? Buffer.from(e.clip.data).length : 0), 0);
}

export function smallRequest(job: SmallJob, requester: { userId: string }, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { prompt: job.prompt, steps: job.steps, frames: job.frames, seed: 3, preview: { disabled: true }, requester: { userId: requester.userId, platform: 'CLI' }, ...extra };
}

/** A real generation to the end: OK with a Done event and clip bytes. Returns why not, or undefined when fine. */
export async function smallGeneration(conn: AnimatorConnection, job: SmallJob, deadlineMs: number, who = 'fault-probe'): Promise<string | undefined> {
  const r = await settle(conn.generate(smallRequest(job, { userId: who }), { deadline: new Date(Date.now() + deadlineMs) }));
  if (r.error) return `a small generation failed: ${grpc.status[r.error.code] ?? r.error.code} ${r.error.details.slice(0, 200)}`;
  if (!r.events.some((e) => e.done)) return 'a small generation ended without a Done event';
  if (clipSize(r.events) === 0) return 'a small generation sent no clip bytes';
  return undefined;
}

/** The daemon still serves after an attack: process alive, health SERVING, a small real generation finishes. */
export async function stillServing(daemon: DaemonProcess, token: string | undefined, job: SmallJob, deadlineMs: number): Promise<string | undefined> {
  if (!daemon.alive()) return `the daemon process died (${daemon.exitDescription()}); last output: ${daemon.tail.slice(-5).join(' | ')}`;
  const conn = connectAnimator(daemon.address, { token });
  try {
    const h = await healthCheck(conn.raw, token, deadlineMs);
    if (!h.serving) return `the health check did not answer SERVING (${grpc.status[h.code] ?? h.code} ${h.details.slice(0, 120)})`;
    return await smallGeneration(conn, job, Math.max(deadlineMs, 60_000));
  } finally {
    conn.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
