// What every scenario of the fault suite gets: the live daemon, its token, the model's limits turned into a cheap
// job and a long one, the per-call deadline, and a row to record what broke. Plus helpers several scenarios share.
import * as grpc from '@grpc/grpc-js';
import type { AnimatorConnection } from '../../../shared/rpc/client.ts';
import { wireStatusOf } from '../../../shared/rpc/rpc-error.ts';
import type { GenerateRequest, ListModelsResponse__Output } from '../../../shared/rpc/types.ts';
import type { DaemonProcess } from '../daemon-process.ts';
import type { FaultOptions } from '../options.ts';
import type { SmallJob } from '../probe.ts';
import type { RowBuilder } from '../report.ts';

export interface ScenarioContext {
  daemon: DaemonProcess;
  token: string;
  options: FaultOptions;
  small: SmallJob;
  /** A request that keeps the daemon busy for a long while (the model's largest size and most steps). */
  long: (userId: string, requestId: string) => GenerateRequest;
  models: ListModelsResponse__Output;
  row: RowBuilder;
  log: (line: string) => void;
}

export interface Scenario {
  /** Row name; starts with the letter of issue 19's list (a-…g-). */
  name: string;
  /** Arguments of the daemon this scenario needs to itself; undefined: it shares the suite's daemon. */
  ownDaemon?: (options: FaultOptions) => string[];
  /** The scenario ends its daemon itself (kill -9): a dead daemon afterwards is not a crash. */
  killsDaemon?: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

/** Largest frame count within the limits that the model accepts (1 + k·temporal_factor). */
export function longRequestFor(models: ListModelsResponse__Output): (userId: string, requestId: string) => GenerateRequest {
  const info = models.models.find((m) => m.name === models.defaultModel) ?? models.models[0]!;
  const l = info.limits!;
  const tf = Math.max(1, l.temporalFactor);
  const frames = 1 + Math.floor((l.maxFrames - 1) / tf) * tf;
  return (userId, requestId) => ({
    prompt: info.examplePrompts[0] ?? 'a red ball',
    steps: l.maxSteps,
    frames,
    width: l.maxSide - (l.maxSide % l.sizeMultiple),
    height: l.maxSide - (l.maxSide % l.sizeMultiple),
    seed: 11,
    preview: { disabled: true },
    requestId,
    requester: { userId, platform: 'CLI' },
  });
}

export function codeName(code: number | undefined): string {
  return code === undefined ? 'OK' : (grpc.status[code] ?? String(code));
}

/** Jobs among `ids` the daemon still holds as queued or running (Cancel reports their state, and cancels them). */
export async function stillActive(conn: AnimatorConnection, ids: string[]): Promise<string[]> {
  const active: string[] = [];
  for (let i = 0; i < ids.length; i += 16) {
    const batch = ids.slice(i, i + 16);
    const states = await Promise.all(batch.map((id) => conn.cancel(id, 'fault suite cleanup').then((r) => r.state, (e: unknown) => `error ${codeName(wireStatusOf(e)?.code)}`)));
    states.forEach((s, j) => {
      if (s === 'queued' || s === 'running') active.push(`${batch[j]} (${s})`);
    });
  }
  return active;
}

/** Resolves with the value, or with 'timeout' after `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}
