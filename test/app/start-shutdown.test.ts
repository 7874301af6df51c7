// Ctrl-C on the real `npm start` and `npm run daemon`, as a terminal sends it: SIGINT to the whole process group
// (npm and the node process it launched both get it, and npm forwards its copy). One press drains: the running clip
// is delivered, the waiting people are told to send again, exit 0 within the drain timeout. A second press, clearly
// later, forces: a quick non-zero exit, and never onnxruntime's native abort. Real processes, real gRPC, real
// playground HTTP + SSE, a slow fixture model so that a job is still running when the signal arrives.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { onShutdownSignals, type SignalSource } from '../../shared/shutdown-signals.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { collectSettled, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { followPageEvents } from '../helpers/playground-events.ts';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** What a native abort of the process leaves on stderr (onnxruntime's N-API error escaping during exit). */
const NATIVE_ABORT = /Aborted|core dumped|terminate called|Napi::Error|SIGABRT|FATAL ERROR/;
/** Milliseconds of burn per denoiser call: a default 20-step job lasts a few seconds, whatever the CPU. */
const BURN_MS = 150;

let modelsDir: string;
beforeAll(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'shutdown-models-'));
  await buildFixturePackage(path.join(modelsDir, 'slow'), { name: 'slow', burnMs: BURN_MS, defaults: { steps: 20 } });
}, 60_000);
afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

/** The environment without our own variables or bot tokens (no Discord / Slack start), plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(ANIMATE_|PLAYGROUND_|DISCORD_|SLACK_|npm_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

interface Launched {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Waits until stdout+stderr match `pattern` (or the process ends). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGINT to the whole process group, as a terminal's Ctrl-C; returns when it was sent. */
  ctrlC(): number;
  /** Ends what is left of the group (test cleanup). */
  kill(): void;
}

function launch(args: string[], env: Record<string, string>): Launched {
  // detached: the child leads its own process group, so -pid reaches npm and everything it started, as a terminal does.
  const child = spawn('npm', args, { cwd: REPO, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor(pattern, ms = 90_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const m = (out + err).match(pattern);
          if (m) return resolve(m);
          if (ended) return reject(new Error(`exited before ${pattern}; output:\n${out}\n${err}`));
          if (Date.now() - started > ms) return reject(new Error(`no ${pattern} within ${ms} ms; output:\n${out}\n${err}`));
          setTimeout(check, 50);
        };
        check();
      });
    },
    ctrlC() {
      process.kill(-child.pid!, 'SIGINT');
      return Date.now();
    },
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    },
  };
}

/** POSTs /animate for a session, as the page does (JSON, no Origin header). */
async function animate(base: string, session: string, text: string): Promise<void> {
  const res = await fetch(`${base}api/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, text }) });
  expect(res.status).toBe(200);
}

/** Starts `npm start`, opens three sessions' streams and starts one job in each; resolves once the first one runs. */
async function startWithThreeJobs(env: Record<string, string>, prompt: string) {
  const app = launch(['start'], { PLAYGROUND_PORT: '0', ANIMATE_LISTEN: '127.0.0.1:0', ANIMATE_MODELS_DIR: modelsDir, ANIMATE_DEFAULT_MODEL: 'slow', ...env });
  const streams: Array<ReturnType<typeof followPageEvents>> = [];
  try {
    const base = (await app.waitFor(/Open (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    await app.waitFor(/Press Ctrl-C to stop\./);
    const sessions = ['firstperson1', 'secondperson2', 'thirdperson3'];
    for (const s of sessions) streams.push(followPageEvents(`${base}events?session=${s}`));
    await new Promise((r) => setTimeout(r, 200));
    // One after the other, so that the first is the running one and the others wait behind it.
    for (const s of sessions) await animate(base, s, prompt);
    await streams[0]!.until((e) => e.type === 'progress' && Number(e.step) >= 1);
    for (const s of streams.slice(1)) await s.until((e) => e.type === 'queued');
    return { app, base, streams };
  } catch (err) {
    // Set-up failed: the caller never gets `app`, so nothing else would end the detached group or the streams.
    for (const s of streams) s.close();
    app.kill(); // process.kill(-pid, 'SIGKILL'): npm and everything it started
    throw err;
  }
}

describe('shutdown signals: copies of one press collapse, a later press forces', () => {
  it('counts presses by time, not by signals', () => {
    const source = new EventEmitter();
    let now = 1_000;
    const calls: string[] = [];
    const s = onShutdownSignals({
      source: source as unknown as SignalSource,
      clock: { now: () => now },
      onDrain: (sig) => calls.push(`drain ${sig}`),
      onForce: (sig) => calls.push(`force ${sig}`),
    });
    source.emit('SIGINT', 'SIGINT');
    now += 4; // npm's forwarded copy
    source.emit('SIGINT', 'SIGINT');
    now += 900; // still the same press (within 1 s of its first copy)
    source.emit('SIGTERM', 'SIGTERM');
    expect(calls).toEqual(['drain SIGINT']);
    expect(s.presses).toBe(1);
    now += 200; // 1104 ms after the first: a second press
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual(['drain SIGINT', 'force SIGINT']);
    expect(s.presses).toBe(2);
    s.dispose();
    source.emit('SIGINT', 'SIGINT');
    expect(calls).toHaveLength(2);
    expect(() => onShutdownSignals({ onDrain: () => {}, onForce: () => {}, collapseMs: -1, source: source as never })).toThrow(/collapseMs must be a number of milliseconds ≥ 0, got -1/);
  });
});

describe('Ctrl-C on the real `npm start`', () => {
  it('one SIGINT to the group drains: the running clip is delivered, the waiting are told to send again, exit 0', async () => {
    const { app, base, streams } = await startWithThreeJobs({ ANIMATE_DRAIN_SECONDS: '30' }, '/animate a red ball --seed 3');
    try {
      const [first, second, third] = streams as [ReturnType<typeof followPageEvents>, ReturnType<typeof followPageEvents>, ReturnType<typeof followPageEvents>];
      expect(first.events.some((e) => e.type === 'clip')).toBe(false);
      const sentAt = app.ctrlC();
      const clip = await first.until((e) => e.type === 'clip' || e.type === 'fail');
      expect(clip.type).toBe('clip');
      // The clip came after the signal: the job was mid-run and the drain let it finish.
      expect(clip.at).toBeGreaterThan(sentAt);
      // The page can still fetch the clip it was just sent (the playground stays up a moment after the drain).
      const media = await fetch(new URL(String(clip.url), base));
      expect(media.status).toBe(200);
      expect(media.headers.get('content-type')).toBe('video/mp4');
      expect((await media.arrayBuffer()).byteLength).toBeGreaterThan(100);
      for (const waiting of [second, third]) {
        const told = await waiting.until((e) => e.type === 'fail' || e.type === 'clip');
        expect(told.type).toBe('fail');
        expect(String(told.message)).toMatch(/shutting down.*send it again/i);
        // Told at once, not after the running clip.
        expect(told.at).toBeLessThan(clip.at);
      }
      const exit = await app.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at - sentAt).toBeLessThan(30_000);
      expect(app.out()).toContain('Stopped. 1 clip delivered while stopping, 2 waiting told to send again, 0 stopped unfinished.');
      // One press, not two: the copy npm forwards was not taken for "again".
      expect(app.err()).not.toMatch(/again: stopping now/);
      expect(app.err()).not.toMatch(NATIVE_ABORT);
    } finally {
      for (const s of streams) s.close();
      app.kill();
    }
  }, 180_000);

  it('a second Ctrl-C more than a second later forces a quick non-zero exit, without a native abort', async () => {
    const { app, streams } = await startWithThreeJobs({ ANIMATE_DRAIN_SECONDS: '120' }, '/animate a red ball --seed 3 --steps 50');
    try {
      const first = streams[0]!;
      app.ctrlC();
      await app.waitFor(/finishing the running clips/);
      await new Promise((r) => setTimeout(r, 1600));
      expect(first.events.some((e) => e.type === 'clip' || e.type === 'fail')).toBe(false);
      const secondAt = app.ctrlC();
      const told = await first.until((e) => e.type === 'fail' || e.type === 'clip');
      expect(told.type).toBe('fail');
      expect(String(told.message)).toMatch(/send it again/i);
      const exit = await app.exited;
      expect(exit.code).toBe(130);
      // Quick: the worker's current call (one step, ~150 ms) and the gRPC close, far from the 120 s drain.
      expect(exit.at - secondAt).toBeLessThan(8_000);
      expect(app.err()).toMatch(/SIGINT again: stopping now/);
      expect(app.err()).not.toMatch(NATIVE_ABORT);
    } finally {
      for (const s of streams) s.close();
      app.kill();
    }
  }, 180_000);

  it('with ANIMATE_DAEMON_ADDRESS the core drains its own jobs until the timeout, then tells the rest', async () => {
    let fx: FixtureDaemon | undefined;
    let launched: Awaited<ReturnType<typeof startWithThreeJobs>> | undefined;
    try {
      fx = await startFixtureDaemon({ fixture: { name: 'slow', burnMs: BURN_MS, defaults: { steps: 50 } } });
      launched = await startWithThreeJobs({ ANIMATE_DAEMON_ADDRESS: fx.daemon.address, ANIMATE_DRAIN_SECONDS: '2' }, '/animate a red ball --seed 3');
      const { app, streams } = launched;
      expect(app.out()).toContain(`Using the remote daemon at ${fx.daemon.address}`);
      const sentAt = app.ctrlC();
      for (const waiting of streams.slice(1)) expect(String((await waiting.until((e) => e.type === 'fail')).message)).toMatch(/not started\. Send it again/);
      // A 50-step job lasts ~7 s: still running when the 2 s drain ends, so it is stopped and its person told.
      const stopped = await streams[0]!.until((e) => e.type === 'fail' || e.type === 'clip');
      expect(stopped.type).toBe('fail');
      expect(String(stopped.message)).toMatch(/stopped this clip before it was finished\. Send it again/);
      expect(stopped.at - sentAt).toBeGreaterThanOrEqual(1_900);
      const exit = await app.exited;
      expect(exit.code).toBe(0);
      expect(exit.at - sentAt).toBeLessThan(2_000 + 8_000);
      expect(app.out()).toContain('0 clips delivered while stopping, 2 waiting told to send again, 1 stopped unfinished.');
      expect(app.err()).not.toMatch(NATIVE_ABORT);
      // The remote daemon was not stopped and serves the next request.
      const next = await collectSettled(fx.client.generate({ prompt: 'a red ball', steps: 2, seed: 1, requestId: 'after-shutdown', requester: { userId: 'x', platform: 'DISCORD' } }));
      expect(next.error).toBeUndefined();
      expect(next.events.some((e) => e.done)).toBe(true);
    } finally {
      for (const s of launched?.streams ?? []) s.close();
      launched?.app.kill();
      await fx?.close();
    }
  }, 180_000);
});

describe('Ctrl-C on the real `npm run daemon`', () => {
  it('one SIGINT to the group drains: the running job finishes, the queued one is told to send again, exit 0', async () => {
    const app = launch(['run', 'daemon'], { ANIMATE_LISTEN: '127.0.0.1:0', ANIMATE_MODELS_DIR: modelsDir, ANIMATE_DEFAULT_MODEL: 'slow', ANIMATE_DRAIN_SECONDS: '30' });
    let client: ReturnType<typeof connectAnimator> | undefined;
    try {
      const address = (await app.waitFor(/animate daemon ready on (127\.0\.0\.1:\d+)/))[1]!;
      const c = connectAnimator(address);
      client = c;
      const req = (user: string) => ({ prompt: 'a red ball', seed: 2, requestId: `${user}-job`, requester: { userId: user, platform: 'DISCORD' as const } });
      let progressed!: () => void;
      const running = new Promise<void>((r) => (progressed = r));
      const firstEvents: Array<{ at: number; done: boolean }> = [];
      const first = (async () => {
        const stream = c.generate(req('first'));
        try {
          for await (const e of stream) {
            firstEvents.push({ at: Date.now(), done: Boolean(e.done) });
            if (e.progress && e.progress.step >= 1) progressed();
          }
          return { ok: true as const };
        } catch (err) {
          return { ok: false as const, err: err as { code: number; details: string } };
        }
      })();
      await running;
      const second = collectSettled(c.generate(req('second')));
      await new Promise((r) => setTimeout(r, 300));
      const sentAt = app.ctrlC();
      const waiting = await second;
      expect(waiting.error?.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(waiting.error?.details).toMatch(/shutting down.*send it again/);
      const result = await first;
      expect(result).toEqual({ ok: true });
      const done = firstEvents.find((e) => e.done);
      expect(done).toBeDefined();
      expect(done!.at).toBeGreaterThan(sentAt);
      client = undefined;
      c.close();
      const exit = await app.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at - sentAt).toBeLessThan(30_000);
      expect(app.err()).not.toMatch(/again: stopping now/);
      expect(app.err()).not.toMatch(NATIVE_ABORT);
    } finally {
      client?.close();
      app.kill();
    }
  }, 180_000);
});
