// Scenarios (c), (d) and (e) of issue 19, each on a daemon of its own so memory and queue state are its alone:
// (c) many never-read streams of one finished job: the daemon's resident memory stays within a bound and comes
//     back down once they close;
// (d) a queue flood (caps raised): no job gets more than 60 Queued events and health checks answer promptly;
// (e) admission when full: a person with nothing waiting is admitted while another has two or more waiting.
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAnimator, type AnimatorConnection } from '../../../shared/rpc/client.ts';
import { loadProtos } from '../../../shared/rpc/proto.ts';
import type { AnimatorClient, GenerateEvent__Output, GenerateRequest } from '../../../shared/rpc/types.ts';
import { METHODS } from '../fuzz-cases.ts';
import { bearer, clipSize, settle, sleep, smallRequest, type Settled } from '../probe.ts';
import { RssSampler } from '../daemon-process.ts';
import { OWN_CONNECTION, rawClient } from '../wire.ts';
import { codeName, stillActive, within, type Scenario, type ScenarioContext } from './context.ts';

const MiB = 1024 * 1024;

/** Queued events one job may get while it waits (issue 19: coalesced to one per second, at most 60). */
export const MAX_QUEUED_EVENTS = 60;
/** A health check during a flood must answer within this, ms (the daemon's own event-loop bound is 50 ms). */
export const FLOOD_HEALTH_BOUND_MS = 2000;
/** Streams opened per channel in (c) and (d), as bots spread people over few connections. */
const STREAMS_PER_CHANNEL = 50;

export const idleStreams: Scenario = {
  name: 'c-never-read-streams',
  // Every idle stream follows the same finished job, so the per-job cap (8 by default) must be above their count, or
  // all but 8 are refused at once and the memory bound is measured against 8 streams. One more than the count, for
  // the stream that made the clip. The per-connection cap stays above STREAMS_PER_CHANNEL the same way.
  ownDaemon: (o) => ['--max-streams-per-job', String(o.idleStreams + 1), '--max-streams-per-connection', String(Math.max(256, STREAMS_PER_CHANNEL + 1))],
  async run(ctx) {
    const conn = connectAnimator(ctx.daemon.address, { token: ctx.token });
    const info = ctx.models.models.find((m) => m.name === ctx.models.defaultModel)!;
    const l = info.limits!;
    const side = l.maxSide - (l.maxSide % l.sizeMultiple);
    const id = `faults-c-${process.pid}-${Date.now()}`;
    // The biggest clip the model makes: every format, the largest size and frame count, upscaled 4×.
    const request: GenerateRequest = { ...ctx.long('c-owner', id), steps: l.minSteps, upscale: 4, formats: ['MP4', 'GIF', 'WEBP'], width: side, height: side };
    const clients: grpc.Client[] = [];
    try {
      ctx.row.row.cases += 1;
      const made = await within(settle(conn.generate(request, { deadline: new Date(Date.now() + 10 * 60_000) })), 10 * 60_000);
      if (made === 'timeout' || made.error) {
        ctx.row.note(`the clip to replay could not be made: ${made === 'timeout' ? 'no answer' : `${codeName(made.error?.code)} ${made.error?.details}`}`);
        return;
      }
      const bytes = clipSize(made.events);
      await sleep(2000);
      const before = ctx.daemon.rssBytes() ?? 0;
      const sampler = new RssSampler(() => ctx.daemon, 100);
      const { Generate } = loadProtos().animator.animate.v1.Animator.service;
      const serialize = Generate.requestSerialize as (r: GenerateRequest) => Buffer;
      const ended: Array<Promise<number>> = [];
      let refused = 0;
      const calls: grpc.ClientReadableStream<Buffer>[] = [];
      for (let i = 0; i < ctx.options.idleStreams; i += 1) {
        if (i % STREAMS_PER_CHANNEL === 0) clients.push(rawClient(ctx.daemon.address));
        // Never read: no 'data' listener, so grpc-js stops taking messages and HTTP/2 flow control pushes back.
        const call = clients.at(-1)!.makeServerStreamRequest(METHODS.generate, serialize, (b: Buffer) => b, request, bearer(ctx.token), {});
        call.on('error', () => {});
        ended.push(new Promise((resolve) => call.on('status', (s: grpc.StatusObject) => {
          if (s.code === grpc.status.RESOURCE_EXHAUSTED) refused += 1;
          resolve(s.code);
        })));
        calls.push(call);
      }
      ctx.row.row.cases += calls.length;
      // Let the daemon push what it will into the unread streams.
      await sleep(6000);
      const peak = sampler.stop();
      const grewMiB = (peak - before) / MiB;
      ctx.log(`  c: clip of ${(bytes / MiB).toFixed(1)} MiB replayed to ${calls.length} never-read streams: RSS ${(before / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB (+${grewMiB.toFixed(0)})`);
      if (grewMiB > ctx.options.idleStreamsBoundMiB) ctx.row.fail('leaks', `${calls.length} never-read streams of a ${(bytes / MiB).toFixed(1)} MiB clip grew the daemon by ${grewMiB.toFixed(0)} MiB (bound ${ctx.options.idleStreamsBoundMiB} MiB)`);
      for (const call of calls) call.cancel();
      const codes = await within(Promise.all(ended), ctx.options.callDeadlineMs);
      if (codes === 'timeout') ctx.row.fail('hangs', 'never-read streams did not end after being cancelled');
      for (const c of clients) c.close();
      // Comes back down: within 20 s, to within half the bound of where it started.
      let after = ctx.daemon.rssBytes() ?? 0;
      for (let t = 0; t < 20 && after - before > (ctx.options.idleStreamsBoundMiB / 2) * MiB; t += 1) {
        await sleep(1000);
        after = ctx.daemon.rssBytes() ?? 0;
      }
      ctx.log(`  c: after closing: RSS ${(after / MiB).toFixed(0)} MiB; ${refused} of ${calls.length} streams were refused past a cap (RESOURCE_EXHAUSTED)`);
      // A refused stream holds nothing, so the memory figures above would understate what the open streams cost.
      if (refused) ctx.row.fail('badStatus', `${refused} of ${calls.length} never-read streams were refused (RESOURCE_EXHAUSTED) although the stream caps were raised above ${calls.length}; the memory bound was not measured against them all`);
      if (after - before > (ctx.options.idleStreamsBoundMiB / 2) * MiB) ctx.row.fail('leaks', `resident memory did not come back down after the streams closed: ${(before / MiB).toFixed(0)} -> ${(after / MiB).toFixed(0)} MiB 20 s later`);
    } finally {
      for (const c of clients) c.close();
      conn.close();
    }
  },
};

/** Starts a long job and resolves once it is running (so everything after it waits in the queue). */
async function occupy(ctx: ScenarioContext, conn: AnimatorConnection, id: string): Promise<{ job: Promise<Settled> }> {
  let running!: () => void;
  const started = new Promise<void>((resolve) => (running = resolve));
  const job = settle(conn.generate(ctx.long('slot-holder', id), { deadline: new Date(Date.now() + 30 * 60_000) }), (e) => e.started && running());
  if ((await within(Promise.race([started, job]), 60_000)) === 'timeout') ctx.row.fail('hangs', 'the long job never started');
  return { job };
}

export const queueFlood: Scenario = {
  name: 'd-queue-flood',
  ownDaemon: (o) => ['--max-queue', String(o.floodJobs), '--max-queue-per-user', String(o.floodJobs), '--concurrency', '1'],
  async run(ctx) {
    const n = ctx.options.floodJobs;
    const control = connectAnimator(ctx.daemon.address, { token: ctx.token });
    const { Animator } = loadProtos().animator.animate.v1;
    const conns: AnimatorClient[] = [];
    const holderId = `faults-d-holder-${Date.now()}`;
    const { job: holder } = await occupy(ctx, control, holderId);
    // Health checks from a process of their own: this one is about to be busy reading thousands of streams.
    const probe = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../health-probe.ts', import.meta.url)), ctx.daemon.address, '250'], { env: { ...process.env, ANIMATE_TOKEN: ctx.token }, stdio: ['ignore', 'pipe', 'ignore'] });
    let probeOut = '';
    probe.stdout.on('data', (c: Buffer) => (probeOut += c.toString('utf8')));
    const probeLines = () => probeOut.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ms: number; serving: boolean });
    for (let t = 0; t < 100 && probeLines().length === 0; t += 1) await sleep(100);
    const ids: string[] = [];
    const queuedCounts = new Map<string, number>();
    const firsts: Array<Promise<unknown>> = [];
    const streams: Array<Promise<Settled>> = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1) {
      if (i % STREAMS_PER_CHANNEL === 0) conns.push(new Animator(ctx.daemon.address, grpc.credentials.createInsecure(), OWN_CONNECTION) as AnimatorClient);
      const id = `faults-d-${Date.now()}-${i}`;
      ids.push(id);
      queuedCounts.set(id, 0);
      let first!: () => void;
      firsts.push(new Promise<void>((resolve) => (first = resolve)));
      const req: GenerateRequest = { ...smallRequest(ctx.small, { userId: `flood-${i % 20}` }), requestId: id, requester: { userId: `flood-${i % 20}`, platform: 'DISCORD', serverId: 'flood' } };
      const s = settle(conns.at(-1)!.Generate(req, bearer(ctx.token)) as AsyncIterable<GenerateEvent__Output>, (e: GenerateEvent__Output) => {
        if (e.queued) queuedCounts.set(id, queuedCounts.get(id)! + 1);
        first();
      });
      void s.then(() => first());
      streams.push(s);
    }
    ctx.row.row.cases += n;
    if ((await within(Promise.all(firsts), 120_000)) === 'timeout') ctx.row.fail('hangs', `not every one of ${n} flooded jobs got a first event within 120 s`);
    const queuedAt = performance.now();
    // Drain from the front: every cancel moves everyone behind up one place, the worst case for position updates.
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await control.cancel(id, 'fault suite: flood drained').catch(() => undefined);
      }
    }));
    const ends = await within(Promise.all(streams), 120_000);
    const probeExit = new Promise((resolve) => probe.once('exit', resolve));
    probe.kill('SIGTERM');
    await within(probeExit, 5000);
    const checks = probeLines();
    const worstHealthMs = Math.max(0, ...checks.map((c) => c.ms));
    const healthFailures = checks.filter((c) => !c.serving).length;
    if (checks.length < 3) ctx.row.note(`the health probe made only ${checks.length} checks during the flood`);
    const drainedAt = performance.now();
    if (ends === 'timeout') ctx.row.fail('hangs', 'flooded streams did not all end within 120 s of being cancelled');
    else {
      const refused = ends.filter((s) => s.error?.code === grpc.status.RESOURCE_EXHAUSTED).length;
      if (refused) ctx.row.note(`${refused} of ${n} flooded jobs were refused although the caps were raised to ${n}`);
    }
    const counts = [...queuedCounts.values()];
    const worst = Math.max(0, ...counts);
    const total = counts.reduce((a, b) => a + b, 0);
    ctx.log(`  d: ${n} jobs queued in ${((queuedAt - t0) / 1000).toFixed(1)} s, drained in ${((drainedAt - queuedAt) / 1000).toFixed(1)} s; Queued events: ${total} in all, at most ${worst} for one job; slowest health check ${worstHealthMs.toFixed(0)} ms`);
    if (worst > MAX_QUEUED_EVENTS) ctx.row.fail('badStatus', `a job got ${worst} Queued events while it waited (at most ${MAX_QUEUED_EVENTS}); ${total} in all for ${n} jobs`);
    if (worstHealthMs > FLOOD_HEALTH_BOUND_MS) ctx.row.note(`a health check during the flood took ${worstHealthMs.toFixed(0)} ms (at most ${FLOOD_HEALTH_BOUND_MS})`);
    if (healthFailures) ctx.row.note(`${healthFailures} health checks during the flood did not answer SERVING`);
    await control.cancel(holderId, 'fault suite: done').catch(() => undefined);
    await within(holder, ctx.options.callDeadlineMs);
    const sample = [...ids.slice(0, 50), ...ids.slice(-50), holderId];
    const left = await stillActive(control, sample).catch(() => []);
    if (left.length) ctx.row.fail('leaks', `${left.length} jobs still active after the flood was drained, e.g. ${left.slice(0, 3).join(', ')}`);
    for (const c of conns) c.close();
    control.close();
  },
};

export const admissionWhenFull: Scenario = {
  name: 'e-admission-when-full',
  ownDaemon: () => ['--max-queue', '4', '--max-queue-per-user', '4', '--concurrency', '1'],
  async run(ctx) {
    const conn = connectAnimator(ctx.daemon.address, { token: ctx.token });
    const holderId = `faults-e-holder-${Date.now()}`;
    const ids = [holderId];
    const { job: holder } = await occupy(ctx, conn, holderId);
    const submit = (userId: string, n: number) => {
      const id = `faults-e-${userId}-${n}-${Date.now()}`;
      ids.push(id);
      let firstEvent!: (e: GenerateEvent__Output | undefined) => void;
      const first = new Promise<GenerateEvent__Output | undefined>((resolve) => (firstEvent = resolve));
      const req: GenerateRequest = { ...smallRequest(ctx.small, { userId }), requestId: id, requester: { userId, platform: 'SLACK', serverId: 'team' } };
      const done = settle(conn.generate(req), (e) => firstEvent(e));
      void done.then(() => firstEvent(undefined));
      return { id, first, done };
    };
    try {
      // alice fills the queue: four waiting.
      const alice = [1, 2, 3, 4].map((k) => submit('alice', k));
      for (const a of alice) await within(a.first, ctx.options.callDeadlineMs);
      ctx.row.row.cases += alice.length;
      // Three people with nothing waiting arrive; alice still has two or more waiting each time.
      for (const [k, who] of ['bob', 'carol', 'dave'].entries()) {
        ctx.row.row.cases += 1;
        const newcomer = submit(who, 1);
        const first = await within(newcomer.first, ctx.options.callDeadlineMs);
        if (first === 'timeout') ctx.row.fail('hangs', `${who} got no answer`);
        else if (!first?.queued) {
          const r = await newcomer.done;
          ctx.row.fail('badStatus', `${who}, with nothing waiting, was refused (${codeName(r.error?.code)}: ${r.error?.details.slice(0, 120)}) while alice had ${4 - k} waiting`);
        }
        // alice's newest waiting job is the one refused, with a message that says why.
        const refusedAlice = alice[3 - k]!;
        const r = await within(refusedAlice.done, 2000);
        if (r === 'timeout' || r.error?.code !== grpc.status.RESOURCE_EXHAUSTED) ctx.row.note(`alice's newest job (#${4 - k}) was not refused when ${who} was admitted (${r === 'timeout' ? 'still waiting' : codeName(r.error?.code)})`);
        else {
          const retry = Number(r.error.metadata?.get('retry-after-ms')[0]);
          if (!(retry > 0)) ctx.row.fail('badStatus', `alice's refused job carries no positive retry-after-ms (${String(r.error.metadata?.get('retry-after-ms')[0])})`);
          if (!r.error.details) ctx.row.fail('badStatus', "alice's refused job has no message saying why");
        }
      }
      // Now nobody has two waiting: a fifth person is refused, with a retry hint.
      ctx.row.row.cases += 1;
      const erin = submit('erin', 1);
      const r = await within(erin.done, ctx.options.callDeadlineMs);
      if (r === 'timeout') ctx.row.note('erin was admitted to a full queue in which nobody had two waiting');
      else if (r.error?.code !== grpc.status.RESOURCE_EXHAUSTED) ctx.row.note(`erin got ${codeName(r.error?.code)} from a full queue, expected RESOURCE_EXHAUSTED`);
      else if (!(Number(r.error.metadata?.get('retry-after-ms')[0]) > 0)) ctx.row.fail('badStatus', 'a refusal from a full queue carries no positive retry-after-ms');
    } finally {
      for (const id of ids) await conn.cancel(id, 'fault suite: done').catch(() => undefined);
      await within(holder, ctx.options.callDeadlineMs);
      const left = await stillActive(conn, ids).catch(() => []);
      if (left.length) ctx.row.fail('leaks', `jobs still active after the scenario: ${left.join(', ')}`);
      conn.close();
    }
  },
};
