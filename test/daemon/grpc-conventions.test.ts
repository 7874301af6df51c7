// Issue #24's gRPC conventions, on real gRPC over loopback: server reflection (what grpcurl needs without the proto
// files), grpc.health.v1 through grpc-health-check with the status switching on drain, one coded error on the client
// with the daemon's own `animate-error-code`, a deadline on every unary call, a plain sentence for an unreachable
// daemon, and a busy port naming the variable that chose it (the daemon's ANIMATE_LISTEN, the playground's PLAYGROUND_PORT).
import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server as NetServer } from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../../inference/server/daemon.ts';
import { silentLogger } from '../../inference/log.ts';
import { startPlayground } from '../../bots/playground/server.ts';
import { createBotCore } from '../../bots/core/bot.ts';
import { silentLogger as botSilentLogger } from '../../bots/core/logger.ts';
import { botErrorFromRpc } from '../../bots/core/rpc-errors.ts';
import { connectAnimator, type AnimatorConnection } from '../../shared/rpc/client.ts';
import { PROTO_ROOT, loadProtos } from '../../shared/rpc/proto.ts';
import { DaemonCallError } from '../../shared/rpc/rpc-error.ts';
import { ListenError } from '../../shared/listen-error.ts';
import { ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';
import { follow, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

const require = createRequire(import.meta.url);
const REFLECTION_PROTO = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
const HEALTH_PACKAGE_PROTO = require('grpc-health-check').protoPath as string;

let fx: FixtureDaemon;
const opened: Array<{ close(): void }> = [];
beforeAll(async () => {
  fx = await startFixtureDaemon({ fixture: { burnMs: 40, limits: { max_steps: 400 } } });
}, 120_000);
afterAll(async () => {
  await fx?.close();
});
afterEach(() => {
  for (const c of opened.splice(0).reverse()) c.close();
});

function connect(address: string, options: Parameters<typeof connectAnimator>[1] = {}): AnimatorConnection {
  const c = connectAnimator(address, options);
  opened.push(c);
  return c;
}

/** Rejection of `p`, or a failure when it resolves. */
async function failure(p: Promise<unknown>): Promise<DaemonCallError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof DaemonCallError)) throw new Error(`expected a DaemonCallError, got ${String(err)}`);
  return err;
}

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('server reflection', () => {
  type ReflectionResponse = {
    list_services_response?: { service: Array<{ name: string }> };
    file_descriptor_response?: { file_descriptor_proto: Buffer[] };
    error_response?: { error_code: number; error_message: string };
  };
  /** One request on a ServerReflectionInfo stream of the reflection proto shipped in @grpc/reflection. */
  async function reflect(request: Record<string, unknown>): Promise<ReflectionResponse> {
    const def = protoLoader.loadSync(REFLECTION_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: typeof grpc.Client } } } };
    const client = new pkg.grpc.reflection.v1.ServerReflection(fx.daemon.address, grpc.credentials.createInsecure()) as grpc.Client & {
      ServerReflectionInfo(): grpc.ClientDuplexStream<Record<string, unknown>, ReflectionResponse>;
    };
    opened.push(client);
    const call = client.ServerReflectionInfo();
    const answer = new Promise<ReflectionResponse>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(request);
    call.end();
    return answer;
  }

  it('lists animate.v1.Animator and grpc.health.v1.Health', async () => {
    const res = await reflect({ list_services: '' });
    const names = res.list_services_response!.service.map((s) => s.name).sort();
    console.log(`reflection lists: ${names.join(', ')}`);
    expect(names).toEqual(['animate.v1.Animator', 'grpc.health.v1.Health']);
  });

  it('returns the file descriptor of a symbol, with its methods as the proto declares them', async () => {
    const res = await reflect({ file_containing_symbol: 'animate.v1.Animator' });
    const protos = res.file_descriptor_response!.file_descriptor_proto;
    const descriptor = (await import('protobufjs/ext/descriptor/index.js')) as unknown as { FileDescriptorProto: protobuf.Type; default?: { FileDescriptorProto: protobuf.Type } };
    const FileDescriptorProto = descriptor.FileDescriptorProto ?? descriptor.default!.FileDescriptorProto;
    const files = protos.map((bytes) => FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes)) as { name: string; package: string; service?: Array<{ name: string; method: Array<{ name: string; serverStreaming?: boolean }> }> });
    // proto-loader rebuilds one descriptor per package (named after it, as protobufjs does), which grpcurl reads alike.
    console.log(`file_containing_symbol animate.v1.Animator: ${files.map((f) => `${f.name} (package ${f.package})`).join(', ')}`);
    const animator = files.find((f) => f.package === 'animate.v1');
    expect(animator?.name).toBe('animate_v1.proto');
    const service = animator?.service?.find((s) => s.name === 'Animator');
    expect(service?.method.map((m) => `${m.name}${m.serverStreaming ? ' (stream)' : ''}`).sort()).toEqual(['Cancel', 'Generate (stream)', 'ListModels']);
    const health = await reflect({ file_containing_symbol: 'grpc.health.v1.Health' });
    const healthFile = FileDescriptorProto.toObject(FileDescriptorProto.decode(health.file_descriptor_response!.file_descriptor_proto[0]!)) as { package: string; service: Array<{ method: Array<{ name: string }> }> };
    expect([healthFile.package, healthFile.service[0]!.method.map((m) => m.name)]).toEqual(['grpc.health.v1', ['Check', 'Watch', 'List']]);
    const unknown = await reflect({ file_containing_symbol: 'no.such.Service' });
    expect(unknown.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('health through grpc-health-check', () => {
  it("serves the package's own proto: the repository's copy equals it from `syntax` on", () => {
    const fromSyntax = (p: string) => readFileSync(p, 'utf8').slice(readFileSync(p, 'utf8').indexOf('syntax ='));
    expect(fromSyntax(path.join(PROTO_ROOT, 'grpc/health/v1/health.proto'))).toBe(fromSyntax(HEALTH_PACKAGE_PROTO));
  });

  it('Check, List and Watch say SERVING, then NOT_SERVING once the daemon drains', async () => {
    const own = await startFixtureDaemon({ fixture: { burnMs: 40, limits: { max_steps: 400 } } });
    try {
      const client = connect(own.daemon.address);
      expect(await client.checkHealth()).toBe('SERVING');
      expect(await client.checkHealth('')).toBe('SERVING');
      const unknown = await failure(client.checkHealth('some.Other'));
      expect([unknown.code, unknown.status, unknown.message]).toEqual(['NOT_FOUND', grpc.status.NOT_FOUND, 'Check failed with NOT_FOUND: unknown service "some.Other"; known: "animate.v1.Animator" or "".']);
      const { health } = loadProtos();
      const hc = new health.grpc.health.v1.Health(own.daemon.address, grpc.credentials.createInsecure());
      opened.push(hc);
      const listed = await new Promise<Record<string, { status: string }>>((resolve, reject) => hc.List({}, (e, r) => (e || !r ? reject(e) : resolve(r.statuses))));
      expect(Object.fromEntries(Object.entries(listed).map(([k, v]) => [k, v.status]))).toEqual({ '': 'SERVING', 'animate.v1.Animator': 'SERVING' });
      const statuses: string[] = [];
      const watch = hc.Watch({ service: 'animate.v1.Animator' });
      watch.on('data', (r: { status: string }) => statuses.push(r.status));
      const watchEnded = new Promise<string>((resolve) => {
        watch.on('end', () => resolve('end'));
        watch.on('error', (e: grpc.ServiceError) => resolve(`error ${e.code}`));
      });
      // A job keeps the daemon draining long enough to be asked.
      const job = follow(client.generate({ prompt: 'a ball', steps: 400, requestId: 'drain-me' }));
      await job.until((e) => !!e.started);
      const closed = own.daemon.close({ graceMs: 120_000 });
      for (let i = 0; i < 200 && statuses.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
      expect(await client.checkHealth()).toBe('NOT_SERVING');
      await client.cancel('drain-me');
      await closed;
      expect(await watchEnded).toBe('end');
      console.log(`Watch saw ${statuses.join(' → ')}, then ended with the daemon`);
    } finally {
      await own.close();
    }
  }, 120_000);
});

describe('one coded error on the client', () => {
  it("a refused request's code is the daemon's own animate-error-code, with its message", async () => {
    const request = { prompt: 'a ball', steps: 100_000 };
    // The daemon's code as it travels: read from the trailer of a raw call.
    const wire = await new Promise<grpc.ServiceError>((resolve) => {
      const call = fx.client.raw.Generate(request);
      call.on('data', () => {});
      call.on('error', resolve);
    });
    const sent = wire.metadata.get(ERROR_CODE_TRAILER)[0]?.toString();
    const err = await failure(collectOnly(fx.client.generate(request)));
    console.log(`refusal: ${err.code} (${err.statusName}): ${err.message}`);
    expect(sent).toBe('INVALID_ARGUMENT');
    expect([err.code, err.daemonCode, err.status, err.method]).toEqual([sent, sent, grpc.status.INVALID_ARGUMENT, 'Generate']);
    expect(err.message).toBe(wire.details);
    expect(err.message).toMatch(/^steps: /);
    // An unknown model: another code, the same way; and the bot maps by the code.
    const model = await failure(collectOnly(fx.client.generate({ prompt: 'a ball', model: 'no-such-model' })));
    expect([model.code, model.status]).toEqual(['MODEL_NOT_FOUND', grpc.status.NOT_FOUND]);
    expect(model.message).toMatch(/^model "no-such-model" is not served here; known models: /);
    expect(botErrorFromRpc(model).code).toBe('UNKNOWN_MODEL');
  });

  it('a token the daemon refuses is UNAUTHENTICATED on a unary call too', async () => {
    const own = await startFixtureDaemon({ daemon: { token: 'right token' } });
    try {
      const err = await failure(connect(own.daemon.address, { token: 'wrong' }).listModels());
      expect([err.code, err.method]).toEqual(['UNAUTHENTICATED', 'ListModels']);
    } finally {
      await own.close();
    }
  }, 60_000);
});

/** Reads a stream to its end; resolves nothing, rejects with its error. */
async function collectOnly(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) void _;
}

describe('one long-lived signal for many calls', () => {
  it('leaves no abort listener behind once each Generate call has ended, refused or finished', async () => {
    const host = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 12; i++) await failure(collectOnly(fx.client.generate({ prompt: 'a ball', steps: 100_000 }, { signal: host.signal })));
      const done = await collectOnly(fx.client.generate({ prompt: 'a ball', steps: 1, frames: 3, width: 32, height: 32 }, { signal: host.signal }));
      expect(done).toBeUndefined();
      await new Promise((r) => setImmediate(r));
      console.log(`[grpc-conventions] abort listeners on the shared signal after 13 calls: ${getEventListeners(host.signal, 'abort').length}`);
      expect(getEventListeners(host.signal, 'abort')).toHaveLength(0);
      expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 60_000);
});

describe('deadlines on unary calls', () => {
  let holding: grpc.Server;
  let address = '';
  const held: Array<{ end(): void }> = [];
  beforeAll(async () => {
    // A raw server that takes every unary call and never answers.
    holding = new grpc.Server();
    const { animator, health } = loadProtos();
    const hold = (call: { on(e: string, f: () => void): void }) => void call.on('cancelled', () => {});
    holding.addService(animator.animate.v1.Animator.service, { Generate: hold, ListModels: hold, Cancel: hold });
    holding.addService(health.grpc.health.v1.Health.service, { Check: hold, Watch: hold, List: hold });
    const port = await new Promise<number>((resolve, reject) => holding.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    for (const h of held) h.end();
    holding.forceShutdown();
  });

  it('ListModels, Cancel and Check each fail DEADLINE_EXCEEDED naming the call, by the default or their own deadline', async () => {
    const client = connect(address, { unaryDeadlineMs: 500 });
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ['ListModels', () => client.listModels(), 500],
      ['Cancel', () => client.cancel('job-1', 'test', undefined, { deadlineMs: 300 }), 300],
      ['Check', () => client.checkHealth(), 500],
    ];
    for (const [method, call, deadlineMs] of cases) {
      const started = performance.now();
      const err = await failure(call());
      const ms = Math.round(performance.now() - started);
      console.log(`${method}: failed after ${ms} ms (deadline ${deadlineMs} ms): ${err.message}`);
      expect([err.code, err.status, err.method]).toEqual(['DEADLINE_EXCEEDED', grpc.status.DEADLINE_EXCEEDED, method]);
      expect(err.message).toBe(`${method} got no answer from the daemon at ${address} within its deadline of ${deadlineMs} ms.`);
      // Not before the deadline (timers may fire a little early); well within a loaded machine's slack after it.
      expect(ms).toBeGreaterThanOrEqual(deadlineMs - 50);
      expect(ms).toBeLessThan(deadlineMs + 15_000);
    }
  }, 60_000);

  it('a deadline option below 1 ms is refused naming it', () => {
    const client = connect(address);
    expect(() => client.listModels({ deadlineMs: 0 })).toThrow('ListModels deadlineMs must be a number of milliseconds ≥ 1, got 0');
  });
});

describe('an unreachable daemon', () => {
  it('is one sentence naming the address and ANIMATE_DAEMON_ADDRESS, waiting or failing fast', async () => {
    const port = await closedPort();
    const waited = await failure(connect(`127.0.0.1:${port}`, { readyTimeoutMs: 800 }).listModels());
    expect([waited.code, waited.method]).toEqual(['DAEMON_UNREACHABLE', 'ListModels']);
    expect(waited.message).toBe(
      `the daemon at 127.0.0.1:${port} is unreachable: no connection within 800 ms (connection refused: nothing listens there). Start the daemon (npm run daemon), or set ANIMATE_DAEMON_ADDRESS to the HOST:PORT of one that runs.`,
    );
    // Failing fast (readyTimeoutMs 0), grpc-js's own text has no reason yet ("Last error: null"): none is invented.
    const fast = await failure(collectOnly(connect(`127.0.0.1:${port}`, { readyTimeoutMs: 0 }).generate({ prompt: 'a ball' })));
    console.log(`fail fast: grpc-js said ${JSON.stringify(fast.details)}; the message: ${fast.message}`);
    expect([fast.code, fast.method]).toEqual(['DAEMON_UNREACHABLE', 'Generate']);
    expect(fast.message).toMatch(
      new RegExp(`^the daemon at 127\\.0\\.0\\.1:${port} is unreachable: (no connection could be made|connection refused: nothing listens there)\\. Start the daemon \\(npm run daemon\\), or set ANIMATE_DAEMON_ADDRESS to the HOST:PORT of one that runs\\.$`),
    );
    expect(fast.message).not.toMatch(/Resolution note|No connection established|Last error/);
    expect(botErrorFromRpc(fast).code).toBe('DAEMON_UNAVAILABLE');
  }, 30_000);
});

describe('a port in use', () => {
  it('a second daemon on the same address names ANIMATE_LISTEN and --listen and suggests ANIMATE_DAEMON_ADDRESS', async () => {
    const address = fx.daemon.address;
    const err = await startDaemon({ listen: address, modelsDir: fx.modelsDir, defaultModel: fx.fixture.options.name, logger: silentLogger }).then(
      async (d) => {
        await d.close({ graceMs: 0 });
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).code).toBe('ADDRESS_IN_USE');
    expect((err as Error).message).toBe(
      `cannot listen on ${address} (ANIMATE_LISTEN / --listen): the address is already in use; if a daemon already runs there, use it: set ANIMATE_DAEMON_ADDRESS=${address} for the bots and the CLI instead of starting another; otherwise stop what uses it, or choose another address with ANIMATE_LISTEN (or --listen).`,
    );
    // The first daemon is untouched.
    expect((await fx.client.listModels()).models.length).toBeGreaterThan(0);
  }, 120_000);

  it('a busy address is said before anything is loaded: a models folder that does not exist is never looked at', async () => {
    const address = fx.daemon.address;
    const started = performance.now();
    const err = await startDaemon({ listen: address, modelsDir: path.join(PROTO_ROOT, 'no-such-models-folder'), logger: silentLogger }).then(
      async (d) => {
        await d.close({ graceMs: 0 });
        return undefined;
      },
      (e: unknown) => e,
    );
    console.log(`[grpc-conventions] busy address refused after ${Math.round(performance.now() - started)} ms`);
    expect((err as ListenError).code).toBe('ADDRESS_IN_USE');
    expect((err as Error).message).toBe(
      `cannot listen on ${address} (ANIMATE_LISTEN / --listen): the address is already in use; if a daemon already runs there, use it: set ANIMATE_DAEMON_ADDRESS=${address} for the bots and the CLI instead of starting another; otherwise stop what uses it, or choose another address with ANIMATE_LISTEN (or --listen).`,
    );
  }, 60_000);

  it('the playground on a busy port names PLAYGROUND_PORT', async () => {
    const busy: NetServer = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const core = createBotCore({ connection: fx.client, logger: botSilentLogger });
    try {
      const err = await startPlayground({ core, port, logger: botSilentLogger }).then(
        async (p) => {
          await p.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect((err as ListenError).code).toBe('ADDRESS_IN_USE');
      expect((err as Error).message).toBe(`cannot listen on 127.0.0.1:${port} (PLAYGROUND_PORT): the address is already in use; stop what uses it, or choose another port with PLAYGROUND_PORT (0 picks a free one).`);
    } finally {
      await core.close();
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });
});
