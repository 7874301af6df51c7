// Starts a real daemon on loopback with a freshly built fixture model package, for tests of every layer above it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildFixturePackage, type FixtureOptions, type FixturePackage } from '../fixtures/fixture-model.ts';
import { startDaemon, type DaemonOptions, type RunningDaemon } from '../../inference/server/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import type { GenerateEvent__Output } from '../../shared/rpc/types.ts';
import { wireStatusOf } from '../../shared/rpc/rpc-error.ts';

export interface FixtureDaemon {
  daemon: RunningDaemon;
  client: AnimatorConnection;
  fixture: FixturePackage;
  modelsDir: string;
  close(): Promise<void>;
}

export async function startFixtureDaemon(options: { fixture?: FixtureOptions; daemon?: DaemonOptions; token?: string } = {}): Promise<FixtureDaemon> {
  const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-models-'));
  const fixture = await buildFixturePackage(path.join(modelsDir, options.fixture?.name ?? 'fixture'), options.fixture);
  const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: fixture.options.name, logger: silentLogger, ...options.daemon });
  const client = connectAnimator(daemon.address, { token: options.token ?? options.daemon?.token });
  return {
    daemon,
    client,
    fixture,
    modelsDir,
    async close() {
      client.close();
      await daemon.close({ graceMs: 0 });
      await rm(modelsDir, { recursive: true, force: true });
    },
  };
}

/** Collects a whole Generate stream; rejects with the gRPC error if the stream fails. */
export async function collect(stream: AsyncIterable<GenerateEvent__Output>): Promise<GenerateEvent__Output[]> {
  const events: GenerateEvent__Output[] = [];
  for await (const e of stream) events.push(e);
  return events;
}

/** Collects until the stream ends or fails; never rejects. */
export async function collectSettled(stream: AsyncIterable<GenerateEvent__Output>): Promise<{ events: GenerateEvent__Output[]; error?: { code: number; details: string; metadata?: { get(k: string): unknown[] } } }> {
  const events: GenerateEvent__Output[] = [];
  try {
    for await (const e of stream) events.push(e);
    return { events };
  } catch (err) {
    // The daemon's tests check the wire's status: the client's DaemonCallError carries it beside its code.
    return { events, error: (wireStatusOf(err) ?? err) as { code: number; details: string } };
  }
}

/**
 * Follows a Generate stream: it keeps being consumed into `events`; `settled` resolves (never rejects) once it ends or
 * fails; `until(pred)` resolves on the first event matching `pred` and rejects if the stream ends without one.
 */
export function follow(stream: AsyncIterable<GenerateEvent__Output>) {
  const events: GenerateEvent__Output[] = [];
  const waiters: Array<{ pred: (e: GenerateEvent__Output) => boolean; resolve: () => void }> = [];
  const settled = (async () => {
    try {
      for await (const e of stream) {
        events.push(e);
        for (const w of [...waiters]) if (w.pred(e)) w.resolve();
      }
      return { events, error: undefined };
    } catch (err) {
      return { events, error: (wireStatusOf(err) ?? err) as { code: number; details: string; metadata: { get(k: string): unknown[] } } };
    }
  })();
  return {
    events,
    settled,
    /** Resolves on the first event matching `pred`; rejects if the stream ends without one. */
    until: (pred: (e: GenerateEvent__Output) => boolean) =>
      events.some(pred)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ pred, resolve });
            void settled.then((r) => reject(new Error(`the stream ended without the event awaited: ${r.error ? `${r.error.code} ${r.error.details}` : 'ok'}`)));
          }),
  };
}

/** Concatenates the clip chunks of one format. */
export function clipBytes(events: GenerateEvent__Output[], format = 'MP4'): Buffer {
  const chunks = events.filter((e) => e.clip && e.clip.format === format).map((e) => e.clip!);
  return Buffer.concat(chunks.sort((a, b) => a.offset - b.offset).map((c) => Buffer.from(c.data)));
}
