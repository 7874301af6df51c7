// The transport between front-ends and the daemon, on real gRPC over loopback: TLS and mutual TLS with
// certificates made at test time (openssl), the constant-time token check, keepalive (a frozen daemon child
// process fails the call with UNAVAILABLE; a well-behaved pinging client is never sent away) and reconnect (the
// first call after a daemon restart on the same port succeeds).
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAuth } from '../../inference/server/auth.ts';
import { startDaemon, type RunningDaemon } from '../../inference/server/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { CLIENT_DEFAULTS, connectAnimator, type AnimatorClientOptions, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { wireStatusOf } from '../../shared/rpc/rpc-error.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { startDaemonProcess } from '../helpers/daemon-process.ts';
import { collect, collectSettled } from '../helpers/fixture-daemon.ts';
import { makeTestPki, type TestPki } from '../helpers/test-certs.ts';

let pki: TestPki;
let modelsDir: string;
const opened: AnimatorConnection[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'animate-tls-models-'));
  await buildFixturePackage(path.join(modelsDir, 'fixture'));
  await buildFixturePackage(path.join(modelsDir, 'slow'), { name: 'slow', burnMs: 60, limits: { max_steps: 400 } });
});
afterAll(async () => {
  for (const c of opened) c.close();
  await pki?.remove();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

function connect(address: string, options: AnimatorClientOptions = {}): AnimatorConnection {
  // Failures should come back quickly here: the defaults are for people, not for tests that expect a refusal.
  const c = connectAnimator(address, { readyTimeoutMs: 1500, ...options });
  opened.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    // The wire's view of the client's DaemonCallError: these tests check the status the daemon or grpc-js gave.
    const wire = wireStatusOf(err);
    if (wire) return wire as grpc.ServiceError;
    throw err;
  }
  throw new Error('expected the call to fail');
}

function daemon(options: Parameters<typeof startDaemon>[0] = {}): Promise<RunningDaemon> {
  return startDaemon({ listen: '127.0.0.1:0', modelsDir, defaultModel: 'fixture', logger: silentLogger, ...options });
}

describe('TLS', () => {
  let tls: RunningDaemon;
  beforeAll(async () => {
    tls = await daemon({ tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey } });
  });
  afterAll(() => tls?.close({ graceMs: 0 }));

  it('a client that trusts the CA lists models and generates a clip', async () => {
    const client = connect(tls.address, { tls: { ca: pki.pem.ca } });
    expect((await client.listModels()).models.map((m) => m.name)).toContain('fixture');
    const events = await collect(client.generate({ prompt: 'a red ball', steps: 1, requester: { userId: 'tls' } }));
    expect(events.some((e) => e.done)).toBe(true);
    // By name too: the certificate carries DNS:localhost.
    const byName = connect(`localhost:${tls.port}`, { tls: { ca: pki.pem.ca } });
    expect((await byName.listModels()).models.length).toBeGreaterThan(0);
  });

  it('a plaintext client, a client on the system roots and a client trusting another CA are all refused', async () => {
    for (const options of [{}, { tls: true }, { tls: { ca: pki.pem.otherCa } }] satisfies AnimatorClientOptions[]) {
      const err = await failure(connect(tls.address, options).listModels());
      expect(err.code, JSON.stringify(options)).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toContain(`the daemon at ${tls.address} is unreachable`);
    }
    // The reason reaches the message, for whoever has to fix the setup.
    const err = await failure(connect(tls.address, { tls: { ca: pki.pem.otherCa } }).listModels());
    expect(err.details).toMatch(/certificate|verify|self.signed|issuer/i);
  });

  it('a certificate for another name is refused; serverName makes the expected name explicit', async () => {
    const wrongName = await failure(connect(tls.address, { tls: { ca: pki.pem.ca, serverName: 'gpu.example.com' } }).listModels());
    expect(wrongName.code).toBe(grpc.status.UNAVAILABLE);
    const rightName = connect(tls.address, { tls: { ca: pki.pem.ca, serverName: 'localhost' } });
    expect((await rightName.listModels()).models.length).toBeGreaterThan(0);
  });

  it('a key that is not the certificate\'s, or something that is not PEM, stops the daemon naming the part', async () => {
    await expect(daemon({ tls: { cert: pki.pem.serverCert, key: pki.pem.clientKey } })).rejects.toThrow(/tls: tls.key is not the private key of tls.cert/);
    await expect(daemon({ tls: { cert: 'hello', key: pki.pem.serverKey } })).rejects.toThrow(/tls.cert is not a PEM certificate/);
  });
});

describe('mutual TLS', () => {
  let mtls: RunningDaemon;
  beforeAll(async () => {
    mtls = await daemon({ tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey, clientCa: pki.pem.ca } });
  });
  afterAll(() => mtls?.close({ graceMs: 0 }));

  it('a client with a certificate signed by the client CA is served', async () => {
    const client = connect(mtls.address, { tls: { ca: pki.pem.ca, cert: pki.pem.clientCert, key: pki.pem.clientKey } });
    expect((await client.listModels()).models.length).toBeGreaterThan(0);
  });

  it('a client without a certificate, or with one from another CA, is refused', async () => {
    const without = await failure(connect(mtls.address, { tls: { ca: pki.pem.ca } }).listModels());
    expect(without.code).toBe(grpc.status.UNAVAILABLE);
    const other = await failure(connect(mtls.address, { tls: { ca: pki.pem.ca, cert: pki.pem.otherClientCert, key: pki.pem.otherClientKey } }).listModels());
    expect(other.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('a client certificate without its key is a clear error', () => {
    expect(() => connectAnimator(mtls.address, { tls: { ca: pki.pem.ca, cert: pki.pem.clientCert } })).toThrow('tls.cert and tls.key go together');
  });
});

describe('token', () => {
  it('is checked on every call: missing, wrong (any length) and right', async () => {
    const d = await daemon({ token: 'correct horse battery staple' });
    try {
      const none = await failure(connect(d.address).listModels());
      expect([none.code, none.details]).toEqual([grpc.status.UNAUTHENTICATED, 'this daemon requires a token: send metadata "authorization: Bearer <ANIMATE_TOKEN>"']);
      for (const token of ['correct horse battery stapl', 'correct horse battery staple!', 'x', 'y'.repeat(5000)]) {
        const wrong = await failure(connect(d.address, { token }).listModels());
        expect(wrong.code, token.slice(0, 40)).toBe(grpc.status.UNAUTHENTICATED);
      }
      const stream = await collectSettled(connect(d.address, { token: 'nope' }).generate({ prompt: 'a ball', steps: 1 }));
      expect(stream.error?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await connect(d.address, { token: 'correct horse battery staple' }).listModels()).models.length).toBeGreaterThan(0);
    } finally {
      await d.close({ graceMs: 0 });
    }
  });

  it('checkAuth compares whole values: a prefix, a suffix, another scheme', () => {
    const md = (value: string) => {
      const m = new grpc.Metadata();
      m.set('authorization', value);
      return m;
    };
    expect(() => checkAuth('s3cret', md('Bearer s3cret'))).not.toThrow();
    for (const bad of ['Bearer s3cre', 'Bearer s3cret2', 'Basic s3cret', 'bearer s3cret', 's3cret', ''])
      expect(() => checkAuth('s3cret', md(bad)), bad).toThrow(/not the one this daemon was started with/);
    expect(() => checkAuth(undefined, new grpc.Metadata())).not.toThrow();
  });
});

/** A port that was free a moment ago (for a daemon that must come back on the same one). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('reconnect', () => {
  it('after a restart on the same port, the first call made once the daemon is up succeeds', async () => {
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    let d = await daemon({ listen });
    // The defaults the bots run with.
    const client = connect(listen, { readyTimeoutMs: CLIENT_DEFAULTS.readyTimeoutMs });
    expect((await client.listModels()).models.length).toBeGreaterThan(0);
    await d.close({ graceMs: 0 });

    // While it is away, calls fail with UNAVAILABLE after the ready wait (and the channel goes into backoff).
    const down = connect(listen, { readyTimeoutMs: 800 });
    const started = Date.now();
    const err = await failure(down.listModels());
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain(`the daemon at ${listen} is unreachable: no connection within 800 ms`);
    expect(Date.now() - started).toBeLessThan(10_000);
    await failure(client.listModels()).then((e) => expect(e.code).toBe(grpc.status.UNAVAILABLE));

    d = await daemon({ listen });
    try {
      // The very first call on each connection, at once: both were in reconnect backoff a moment ago.
      expect((await client.listModels()).models.length).toBeGreaterThan(0);
      const events = await collect(down.generate({ prompt: 'a ball', steps: 1, requester: { userId: 'back' } }));
      expect(events.some((e) => e.done)).toBe(true);
    } finally {
      await d.close({ graceMs: 0 });
    }
  });

  it('an abort while waiting for the channel cancels at once, and a call deadline shorter than the wait is honoured', async () => {
    const client = connect(`127.0.0.1:${await freePort()}`, { readyTimeoutMs: 30_000 });
    const abort = new AbortController();
    const stream = collectSettled(client.generate({ prompt: 'a ball' }, { signal: abort.signal }));
    setTimeout(() => abort.abort(), 200);
    const started = Date.now();
    expect((await stream).error?.code).toBe(grpc.status.CANCELLED);
    expect(Date.now() - started).toBeLessThan(10_000);
    const timed = await collectSettled(client.generate({ prompt: 'a ball' }, { deadline: new Date(Date.now() + 300) }));
    expect(timed.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });
});

describe('keepalive', () => {
  it('a call on a frozen daemon (SIGSTOP) fails with UNAVAILABLE within keepalive time + timeout; thawed, new calls work', async () => {
    const daemonProcess = await startDaemonProcess({ modelsDir, defaultModel: 'slow', env: { ANIMATE_CONCURRENCY: '2' } });
    const { child, address } = daemonProcess;
    try {
      const client = connect(address, { keepaliveTimeMs: 1000, keepaliveTimeoutMs: 1000, readyTimeoutMs: 10_000 });
      const stream = client.generate({ prompt: 'a slow ball', steps: 300, requester: { userId: 'frozen' } });
      const iterator = stream[Symbol.asyncIterator]();
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) throw new Error('the job ended before it could be frozen');
        if (value.progress) break;
      }
      process.kill(child.pid!, 'SIGSTOP');
      const frozenAt = Date.now();
      let error: unknown;
      try {
        for (;;) if ((await iterator.next()).done) break;
      } catch (err) {
        error = err;
      }
      const detectedMs = Date.now() - frozenAt;
      expect(wireStatusOf(error)?.code).toBe(grpc.status.UNAVAILABLE);
      // 1 s + 1 s in theory; generous for a loaded 2-core machine, and far below the hang it replaces.
      expect(detectedMs).toBeLessThan(12_000);
      console.log(`frozen daemon detected after ${detectedMs} ms (keepalive 1 s + 1 s)`);

      process.kill(child.pid!, 'SIGCONT');
      expect((await client.listModels()).models.map((m) => m.name)).toContain('slow');
      const events = await collect(client.generate({ prompt: 'a thawed ball', steps: 1, model: 'fixture', requester: { userId: 'thawed' } }));
      expect(events.some((e) => e.done)).toBe(true);
    } finally {
      child.kill('SIGCONT');
      await daemonProcess.stop(5000);
    }
  });

  it('a client pinging every 100 ms, idle and during a stream, is never sent away', async () => {
    const d = await daemon({ defaultModel: 'slow' });
    try {
      const client = connect(d.address, { keepaliveTimeMs: 100, keepaliveTimeoutMs: 1000 });
      await client.listModels();
      const channel = client.raw.getChannel();
      const states: string[] = [];
      const watch = (from: grpc.connectivityState) =>
        channel.watchConnectivityState(from, Date.now() + 60_000, () => {
          const now = channel.getConnectivityState(false);
          if (now !== from) states.push(grpc.connectivityState[now]);
          if (now !== grpc.connectivityState.SHUTDOWN) watch(now);
        });
      watch(channel.getConnectivityState(false));
      await new Promise((r) => setTimeout(r, 2000)); // ~20 pings on an idle connection
      const events = await collect(client.generate({ prompt: 'a pinged ball', steps: 30, requester: { userId: 'pinger' } }));
      expect(events.some((e) => e.done)).toBe(true);
      await client.listModels();
      expect(states).toEqual([]); // never left READY: no GOAWAY, no reconnect
    } finally {
      await d.close({ graceMs: 0 });
    }
  });
});
