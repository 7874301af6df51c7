// The bot core never leaves a person with a progress bar that never moves, and never shows them server internals.
//  - A real daemon in its own process, frozen with SIGSTOP mid-job: the person is told within 30 s, the job ends, and
//    once the daemon thaws the same core makes clips again.
//  - A real gRPC server that keeps the connection healthy (answers pings and ListModels) but stops sending events:
//    the stall watchdog alone ends the job, calls Cancel and aborts the call (keepalive cannot help there).
//  - Failures whose details carry server paths and stacks (a package whose ONNX file breaks, scripted statuses):
//    the person gets a sentence and the code, the log gets the detail.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Requester } from '../../bots/core/adapter.ts';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { silentLogger, type Logger } from '../../bots/core/logger.ts';
import { DEFAULT_LIVENESS } from '../../bots/core/watchdog.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { looksLikeServerPath } from '../../shared/redact.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { silentLogger as daemonSilent } from '../../inference/log.ts';
import { loadProtos } from '../../shared/rpc/proto.ts';
import type { GenerateEvent } from '../../shared/rpc/types.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';
import { DaemonErrorCode, ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const alice: Requester = { platform: 'plugin', userId: 'alice', displayName: 'Alice', channelId: 'c1', serverId: 's1' };

// Everything a test opens, closed in afterEach whatever happened.
let child: ChildProcess | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    // A stopped process does not act on SIGKILL's exit until continued on some systems: continue it first.
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  child = undefined;
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});

/** A logger that keeps what it was given, to check that the full detail is logged while the person sees less. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (message: string, detail?: unknown) => void lines.push(`${level} ${message}${detail === undefined ? '' : ` ${String(detail)}`}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

/** Starts `node --import tsx inference/cli/daemon.ts` on a free port; resolves with its address once it is ready. */
async function spawnDaemon(modelsDir: string, model: string): Promise<{ proc: ChildProcess; address: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANIMATE_')));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'inference/cli/daemon.ts', '--listen', '127.0.0.1:0', '--models-dir', modelsDir, '--model', model, '--log-level', 'warn'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the daemon was not ready within 90 s; stderr: ${stderr}`)), 90_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /animate daemon ready on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${code ?? signal}) before it was ready; stderr: ${stderr}`));
    });
  });
  return { proc, address };
}

/**
 * Starts a 50-step job, freezes the daemon once it runs, and returns how long the person waited for the failure;
 * then thaws it, waits until the daemon has dropped the stalled job, and checks a new job on the same core delivers.
 */
async function freezeMidJob(core: BotCore, proc: ChildProcess, label: string) {
  const surface = new RecordingSurface();
  const result = await core.animate(surface, alice, { prompt: 'a red ball bounces', steps: 50, variants: 1 });
  await Promise.race([surface.firstProgress(), surface.end()]);
  expect(surface.failure?.message, 'the job failed before it ran').toBeUndefined();
  const job = result.jobs[0]!;
  expect(job.state).toBe('running');

  const frozenAt = Date.now();
  proc.kill('SIGSTOP');
  // Bounded, so a regression fails with a message instead of the test's timeout (afterEach thaws and kills the daemon).
  const ended = await Promise.race([surface.end().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
  const toldMs = Date.now() - frozenAt;
  expect(ended, `${label}: no message within 60 s of the freeze`).toBe(true);
  const failure = surface.failure;
  console.log(`${label}: the person was told after ${(toldMs / 1000).toFixed(1)} s (${failure?.code}: ${failure?.message})`);
  const [outcome] = await result.finished;
  expect(outcome?.status).toBe('failed');
  expect(job.state).toBe('failed');
  expect(core.jobs.active()).toEqual([]);
  expect(surface.kinds().filter((k) => k === 'fail')).toHaveLength(1);

  proc.kill('SIGCONT');
  // Thawed, the daemon reads the Cancel / the reset stream and drops the old job...
  const until = Date.now() + 30_000;
  let state = '';
  while (Date.now() < until) {
    state = await core.connection.cancel(job.id, 'test: is it still running?').then((r) => r.state, () => 'unreachable');
    if (state === 'finished' || state === 'unknown') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(state, 'the stalled job was still on the daemon after it thawed').toMatch(/^(finished|unknown)$/);
  // ...and a new job through the same core is delivered.
  const again = new RecordingSurface();
  const next = await core.animate(again, alice, { prompt: 'a red ball bounces', steps: 2, variants: 1 });
  const [nextOutcome] = await next.finished;
  expect(nextOutcome?.status, JSON.stringify(again.failure?.message)).toBe('delivered');
  expect(again.clip?.clip.mimeType).toBe('video/mp4');
  expect(again.clip!.clip.data.length).toBeGreaterThan(100);
  return { toldMs, failure };
}

describe('a frozen daemon (SIGSTOP) mid-job', () => {
  it('tells the person within 30 s and ends the job, with or without keepalive; after SIGCONT the same core delivers', async () => {
    const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-frozen-'));
    cleanups.push(() => rm(modelsDir, { recursive: true, force: true }));
    // About 100 ms per denoiser call: a 50-step job lasts well over the seconds the test needs it running.
    await buildFixturePackage(path.join(modelsDir, 'slow'), { name: 'slow', burnMs: 100 });
    const { proc, address } = await spawnDaemon(modelsDir, 'slow');
    const limits = { perUserConcurrent: 4, perUserPerWindow: 0 };

    // 1. Keepalive that would not notice in time (10 min): the stall watchdog alone, with its default options.
    const quiet = connectAnimator(address, { keepaliveTimeMs: 600_000 });
    cleanups.push(() => quiet.close());
    const watchdogOnly = createBotCore({ connection: quiet, logger: silentLogger, limits });
    cleanups.push(() => watchdogOnly.close());
    const first = await freezeMidJob(watchdogOnly, proc, 'frozen daemon, keepalive off');
    expect(first.toldMs).toBeLessThan(30_000);
    // Not before the stall floor (less the last step or so, which may have reached us just before the freeze).
    expect(first.toldMs).toBeGreaterThanOrEqual(DEFAULT_LIVENESS.stallFloorMs - 5_000);
    expect(first.failure?.code).toBe(BotErrorCode.DaemonStalled);
    expect(first.failure?.message).toBe('The animation server stopped responding, so this clip was cancelled. Try again in a moment.');

    // 2. What a deployed bot gets: the core's own connection (keepalive on) and the default liveness options.
    const deployed = createBotCore({ daemonAddress: address, logger: silentLogger, limits });
    cleanups.push(() => deployed.close());
    const second = await freezeMidJob(deployed, proc, 'frozen daemon, defaults');
    expect(second.toldMs).toBeLessThan(30_000);
    // Keepalive (UNAVAILABLE) or the watchdog, whichever notices first.
    expect([BotErrorCode.DaemonStalled, BotErrorCode.DaemonUnavailable]).toContain(second.failure?.code);
    expect(second.failure?.message).toMatch(/^The animation (server stopped responding|daemon is unreachable)/);
  }, 240_000);
});

// ---- A scripted Animator server: real gRPC on loopback, behaviour chosen per test. ----

interface Script {
  /** What Generate does with a call (write events, end with a status, or go silent). */
  generate(call: grpc.ServerWritableStream<unknown, GenerateEvent>): void;
  /** Whether ListModels answers (false: it never does, like a wedged daemon). */
  listModelsAnswers?: () => boolean;
  /** Whether Cancel answers (false: it takes the call and never answers). Default: it answers. */
  cancelAnswers?: () => boolean;
}

async function scriptedServer(script: Script) {
  const { animator } = loadProtos();
  const server = new grpc.Server();
  const seen = { cancels: [] as Array<{ requestId: string; reason: string }>, callsCancelled: 0, listModels: 0 };
  server.addService(animator.animate.v1.Animator.service, {
    Generate: (call: grpc.ServerWritableStream<unknown, GenerateEvent>) => {
      call.on('cancelled', () => seen.callsCancelled++);
      script.generate(call);
    },
    Cancel: (call: grpc.ServerUnaryCall<{ requestId: string; reason: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      seen.cancels.push({ requestId: call.request.requestId, reason: call.request.reason });
      if (script.cancelAnswers && !script.cancelAnswers()) return; // never answers
      cb(null, { cancelled: true, state: 'running' });
    },
    ListModels: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
      seen.listModels++;
      if (script.listModelsAnswers && !script.listModelsAnswers()) return; // never answers
      cb(null, { models: [], defaultModel: '' });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return { address: `127.0.0.1:${port}`, seen };
}

const startedEvent = (totalSteps: number): GenerateEvent => ({
  started: { model: 'm', seed: 7, totalSteps, frames: 5, width: 32, height: 32, fps: 8, guidanceScale: 3, scheduler: 'euler' },
});

describe('a daemon that stays connected but stops sending events', () => {
  it('a running job: the watchdog cancels it (Cancel RPC + aborted call) and the person gets daemon_stalled', async () => {
    const { address, seen } = await scriptedServer({
      generate(call) {
        call.write(startedEvent(10));
        call.write({ progress: { step: 1, totalSteps: 10, elapsedSeconds: 0.05, etaSeconds: 0.45, stage: 'denoise' } });
        // ...and nothing more: the call stays open, the connection healthy.
      },
    });
    const core = createBotCore({ daemonAddress: address, logger: silentLogger, liveness: { stallFloorMs: 1_500 } });
    cleanups.push(() => core.close());
    const surface = new RecordingSurface();
    const startedAt = Date.now();
    const result = await core.animate(surface, alice, { prompt: 'a ball', variants: 1 });
    await surface.end();
    const elapsed = Date.now() - startedAt;
    console.log(`silent daemon: the person was told after ${elapsed} ms (stall floor 1500 ms)`);
    expect(surface.failure?.code).toBe(BotErrorCode.DaemonStalled);
    expect(surface.failure?.message).toBe('The animation server stopped responding, so this clip was cancelled. Try again in a moment.');
    // Timers never fire early: not before the floor; the upper bound is generous for a loaded machine.
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(15_000);
    const [outcome] = await result.finished;
    expect(outcome?.status).toBe('failed');
    expect(core.jobs.active()).toEqual([]);
    // The daemon was asked to cancel that very job, and the stream was closed from our side.
    await waitUntil(() => seen.cancels.length === 1 && seen.callsCancelled === 1, 5_000, 'the Cancel and the aborted call');
    expect(seen.cancels[0]!.requestId).toBe(result.jobs[0]!.id);
  }, 30_000);

  it('a queued job behind a long one is kept while the daemon answers probes, and ended once it stops answering', async () => {
    let answering = true;
    const { address, seen } = await scriptedServer({
      generate(call) {
        call.write({ queued: { position: 1, queueLength: 1, etaSeconds: 0.1 } });
      },
      listModelsAnswers: () => answering,
    });
    const core = createBotCore({
      daemonAddress: address,
      logger: silentLogger,
      liveness: { queueStallFloorMs: 700, probeTimeoutMs: 700 },
    });
    cleanups.push(() => core.close());
    const surface = new RecordingSurface();
    const result = await core.animate(surface, alice, { prompt: 'a ball', variants: 1 });
    const listModelsBefore = seen.listModels; // the core's own ListModels (option check)
    // Several probe rounds pass while the daemon answers: the job waits on.
    await waitUntil(() => seen.listModels - listModelsBefore >= 3, 15_000, 'three probes');
    expect(surface.ended).toBe(false);
    expect(result.jobs[0]!.state).toBe('queued');
    answering = false;
    const stoppedAt = Date.now();
    await surface.end();
    console.log(`silent queue: ended ${Date.now() - stoppedAt} ms after probes stopped being answered`);
    expect(surface.failure?.code).toBe(BotErrorCode.DaemonStalled);
    await waitUntil(() => seen.cancels.length === 1 && seen.callsCancelled === 1, 5_000, 'the Cancel and the aborted call');
  }, 30_000);
});

async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('no server path or stack trace reaches a chat user', () => {
  it('a package whose ONNX file breaks after start-up: a sentence with MODEL_INVALID, the detail only in the log', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'animate-broken-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await buildFixturePackage(path.join(dir, 'good'), { name: 'good' });
    await buildFixturePackage(path.join(dir, 'broken'), { name: 'broken' });
    const daemon: RunningDaemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: dir, defaultModel: 'good', logger: daemonSilent });
    cleanups.push(() => daemon.close({ graceMs: 0 }));
    // Checked and listed at start-up, then its denoiser is overwritten: the first job loads it and fails.
    await writeFile(path.join(dir, 'broken', 'transformer', 'model.onnx'), 'this is not an onnx file');
    const logger = recordingLogger();
    const core = createBotCore({ daemonAddress: daemon.address, logger });
    cleanups.push(() => core.close());
    const surface = new RecordingSurface();
    const [outcome] = await (await core.animate(surface, alice, { prompt: 'a ball', model: 'broken', steps: 1, variants: 1 })).finished;
    expect(outcome?.status).toBe('failed');
    const message = surface.failure?.message ?? '';
    console.log(`broken package: the person sees "${message}"`);
    expect(message).toBe('This model is not available on the server right now (MODEL_INVALID).');
    expect(message).not.toContain('/');
    expect(message).not.toContain(dir);
    expect(surface.failure?.code).toBe(BotErrorCode.GenerationFailed);
    // The bot's log has the daemon's whole detail.
    const logged = logger.lines.find((l) => l.includes('FAILED_PRECONDITION/MODEL_INVALID'));
    expect(logged).toMatch(/broken/);
  }, 60_000);

  it('a request id another requester holds, or one resent with other settings (real daemon): a human sentence and the code', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'animate-ids-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await buildFixturePackage(path.join(dir, 'fixture'), { name: 'fixture' });
    const daemon = await startDaemon({ listen: '127.0.0.1:0', modelsDir: dir, logger: daemonSilent });
    cleanups.push(() => daemon.close({ graceMs: 0 }));
    // Separate cores (as two bots would be): each one's own request-id memory cannot short-cut the daemon's answer.
    const cores = [0, 1, 2].map(() => createBotCore({ daemonAddress: daemon.address, logger: silentLogger }));
    for (const c of cores) cleanups.push(() => c.close());
    const bob: Requester = { ...alice, userId: 'bob', displayName: 'Bob' };
    const first = new RecordingSurface();
    const [firstOutcome] = await (await cores[0]!.animate(first, alice, { prompt: 'a red ball', steps: 1, variants: 1 }, { requestId: 'evt-shared' })).finished;
    expect(firstOutcome?.status).toBe('delivered');

    const other = new RecordingSurface();
    await (await cores[1]!.animate(other, bob, { prompt: 'a red ball', steps: 1, variants: 1 }, { requestId: 'evt-shared' })).finished;
    console.log(`request id of another requester: "${other.failure?.message}"`);
    expect(other.clip).toBeUndefined();
    expect(other.failure?.code).toBe(BotErrorCode.NotAllowed);
    expect(other.failure?.message).toMatch(/\((PERMISSION_DENIED|REQUEST_ID_TAKEN)\)\.$/);

    const changed = new RecordingSurface();
    await (await cores[2]!.animate(changed, alice, { prompt: 'a blue ball', steps: 1, variants: 1 }, { requestId: 'evt-shared' })).finished;
    console.log(`request id resent with other settings: "${changed.failure?.message}"`);
    expect(changed.clip).toBeUndefined();
    expect(changed.failure?.code).toBe(BotErrorCode.InvalidState);
    expect(changed.failure?.message).toMatch(/\((ALREADY_EXISTS|REQUEST_ID_REUSED)\)\.$/);
  }, 60_000);

  const PATHY = 'model package /home/ci/models/secret/transformer/model.onnx is not usable: Load model from C:\\models\\x.onnx failed\n    at Object.<anonymous> (/srv/animate/inference/model/registry.ts:12:3)';
  const cases: Array<{ status: grpc.status; code?: string; expect: RegExp; botCode: string; showsDetail: boolean }> = [
    { status: grpc.status.INTERNAL, code: DaemonErrorCode.InferenceFailed, expect: /^The model failed while making this clip; try again, or try other settings \(INFERENCE_FAILED\)\.$/, botCode: BotErrorCode.GenerationFailed, showsDetail: false },
    { status: grpc.status.INTERNAL, code: DaemonErrorCode.WorkerCrashed, expect: /crashed.*\(WORKER_CRASHED\)\.$/, botCode: BotErrorCode.GenerationFailed, showsDetail: false },
    { status: grpc.status.INTERNAL, expect: /^The animation server hit an internal error while making this clip \(INTERNAL\)\.$/, botCode: BotErrorCode.GenerationFailed, showsDetail: false },
    { status: grpc.status.FAILED_PRECONDITION, code: DaemonErrorCode.ExecutionProviderUnavailable, expect: /hardware.*\(EXECUTION_PROVIDER_UNAVAILABLE\)\.$/, botCode: BotErrorCode.GenerationFailed, showsDetail: false },
    { status: grpc.status.UNKNOWN, expect: /^The animation server hit an unexpected error while making this clip \(UNKNOWN\)\.$/, botCode: BotErrorCode.GenerationFailed, showsDetail: false },
    { status: grpc.status.PERMISSION_DENIED, code: DaemonErrorCode.RequestIdTaken, expect: /^This request’s id is already used by someone else’s request, so it was not started\. Send your command again \(REQUEST_ID_TAKEN\)\.$/, botCode: BotErrorCode.NotAllowed, showsDetail: false },
    { status: grpc.status.PERMISSION_DENIED, expect: /^The animation server refused this request, so no clip was started: .+ \(PERMISSION_DENIED\)\.$/, botCode: BotErrorCode.NotAllowed, showsDetail: true },
    { status: grpc.status.ALREADY_EXISTS, code: DaemonErrorCode.RequestIdReused, expect: /^This request was already sent with other settings, so it was not started again\. Send your command again as a new request \(REQUEST_ID_REUSED\)\.$/, botCode: BotErrorCode.InvalidState, showsDetail: false },
    { status: grpc.status.ALREADY_EXISTS, expect: /^This request was already sent with other settings, so it was not started again: .+ \(ALREADY_EXISTS\)\.$/, botCode: BotErrorCode.InvalidState, showsDetail: true },
    { status: grpc.status.RESOURCE_EXHAUSTED, code: DaemonErrorCode.TooManyStreams, expect: /^The animation server is too busy for this request right now: .+ \(TOO_MANY_STREAMS\)\. Try again in a little while\.$/, botCode: BotErrorCode.QueueFull, showsDetail: true },
    { status: grpc.status.RESOURCE_EXHAUSTED, code: DaemonErrorCode.QueueFull, expect: /^The generation queue is full right now\. Try again in a little while\. Reason: model package …\/model\.onnx is not usable/, botCode: BotErrorCode.QueueFull, showsDetail: true },
    { status: grpc.status.INVALID_ARGUMENT, code: DaemonErrorCode.InvalidArgument, expect: /^model package …\/model\.onnx is not usable: Load model from …\/x\.onnx failed$/, botCode: BotErrorCode.InvalidOptions, showsDetail: true },
  ];

  it.each(cases)('$status/$code: a sentence and the code, no path, no stack', async (c) => {
    const { address } = await scriptedServer({
      generate(call) {
        const metadata = new grpc.Metadata();
        if (c.code) metadata.set(ERROR_CODE_TRAILER, c.code);
        call.emit('error', { code: c.status, details: PATHY, metadata });
      },
    });
    const logger = recordingLogger();
    const core = createBotCore({ daemonAddress: address, logger });
    cleanups.push(() => core.close());
    const surface = new RecordingSurface();
    await (await core.animate(surface, alice, { prompt: 'a ball', variants: 1 })).finished;
    const message = surface.failure?.message ?? '';
    expect(message).toMatch(c.expect);
    expect(surface.failure?.code).toBe(c.botCode);
    expect(looksLikeServerPath(message)).toBe(false);
    expect(message).not.toMatch(/registry\.ts|\bat Object|\\models|\/home|\/srv/);
    expect(message.includes('is not usable')).toBe(c.showsDetail);
    expect(logger.lines.some((l) => l.includes('/home/ci/models/secret'))).toBe(true);
  }, 30_000);

  it('a long detail is capped', async () => {
    const { address } = await scriptedServer({
      generate(call) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `prompt: ${'x'.repeat(5000)}`, metadata: new grpc.Metadata() });
      },
    });
    const core = createBotCore({ daemonAddress: address, logger: silentLogger });
    cleanups.push(() => core.close());
    const surface = new RecordingSurface();
    await (await core.animate(surface, alice, { prompt: 'a ball', variants: 1 })).finished;
    expect(surface.failure?.message.length).toBe(300);
    expect(surface.failure?.message.endsWith('…')).toBe(true);
  }, 30_000);
});

describe('unary calls have a deadline of their own', () => {
  it('a daemon that takes ListModels and Cancel and never answers: both fail DEADLINE_EXCEEDED after unaryDeadlineMs', async () => {
    let cancelAnswers = false;
    const { address, seen } = await scriptedServer({ generate() {}, listModelsAnswers: () => false, cancelAnswers: () => cancelAnswers });
    const connection = connectAnimator(address, { unaryDeadlineMs: 400 });
    cleanups.push(() => connection.close());
    let startedAt = Date.now();
    const listed = await connection.listModels().then(() => undefined, (err: { code?: string }) => err);
    let elapsed = Date.now() - startedAt;
    expect(listed?.code).toBe('DEADLINE_EXCEEDED'); // the client's DaemonCallError code (shared/rpc/rpc-error.ts)
    expect(seen.listModels).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(10_000);
    startedAt = Date.now();
    const cancelled = await connection.cancel('job-1', 'test').then(() => undefined, (err: { code?: string }) => err);
    elapsed = Date.now() - startedAt;
    expect(cancelled?.code).toBe('DEADLINE_EXCEEDED');
    expect(seen.cancels).toEqual([{ requestId: 'job-1', reason: 'test' }]);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(10_000);
    // The deadline is the only thing that failed it: a Cancel that is answered succeeds on the same connection.
    cancelAnswers = true;
    await expect(connection.cancel('job-2', 'test')).resolves.toMatchObject({ cancelled: true });
  }, 30_000);
});
