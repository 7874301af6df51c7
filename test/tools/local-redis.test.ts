// The local Redis launcher (tools/cluster/local-redis.ts) that every cluster test and the cluster bench stand on: it
// must really start Debian's redis-server without persistence, restart it empty on the same port, die when told, and
// never leave a server behind, even when the process that started it is SIGKILLed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalRedisError, startLocalRedis, type LocalRedis } from '../../tools/cluster/local-redis.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const started: LocalRedis[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(started.splice(0).map((r) => r.stop()));
});

async function start(options?: Parameters<typeof startLocalRedis>[0]): Promise<LocalRedis> {
  const redis = await startLocalRedis(options);
  started.push(redis);
  return redis;
}

function connect(url: string): Redis {
  // No retries: a server that is gone must fail the command, not make it wait.
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  clients.push(client);
  return client;
}

/** Running, not merely unreaped: a killed server whose starter is gone is a zombie until init reaps it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

/**
 * Resolves once a client connected before the server went away sees its connection end. Checked this way rather than
 * by connecting to the port afterwards: on a shared machine another process may bind the freed port at once.
 */
function closed(client: Redis): Promise<void> {
  return new Promise((resolve) => {
    if (client.status === 'end' || client.status === 'close') return resolve();
    client.once('close', () => resolve());
    client.on('error', () => {}); // the reset is what we wait for, not a failure
  });
}

// Not skipped without redis-server: .ci/run installs it, and a missing one fails here with how to install it.
describe('startLocalRedis', () => {
  it('starts a redis-server on loopback that answers, without persistence, and stop() ends it', async () => {
    const redis = await start();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).toBeGreaterThan(0);
    expect(alive(redis.pid)).toBe(true);

    const client = connect(redis.url);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    expect(await client.config('GET', 'protected-mode')).toEqual(['protected-mode', 'yes']);
    const info = await client.info('server');
    const version = /redis_version:(\d+)\.(\d+)/.exec(info)!;
    expect(Number(version[1]) * 100 + Number(version[2])).toBeGreaterThanOrEqual(602); // BullMQ needs 6.2+

    const pid = redis.pid;
    const gone = closed(client);
    await redis.stop();
    expect(alive(pid)).toBe(false);
    await gone;
    await redis.stop(); // twice is fine
  });

  it('gives two servers two ports', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.port).not.toBe(b.port);
    expect(a.pid).not.toBe(b.pid);
  });

  it('restart() comes back on the same port with empty data and a new pid', async () => {
    const redis = await start();
    const before = connect(redis.url);
    await before.connect();
    await before.set('survives', 'no');
    expect(await before.dbsize()).toBe(1);
    before.disconnect();

    const { port, pid } = redis;
    await redis.restart();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    const after = connect(redis.url);
    await after.connect();
    expect(await after.dbsize()).toBe(0);
    expect(await after.get('survives')).toBeNull();
  });

  it('kill() ends the server at once (as a crash), and restart() brings it back', async () => {
    const redis = await start();
    const pid = redis.pid;
    const before = connect(redis.url);
    await before.connect();
    const gone = closed(before);
    redis.kill();
    const ms = await waitUntil('the killed server to exit', () => !alive(pid), 5_000);
    process.stdout.write(`local-redis: SIGKILLed server gone after ${ms} ms\n`);
    await gone;
    await redis.restart();
    const client = connect(redis.url);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
  });

  it('starts on a port it is given', async () => {
    const probe = await start();
    const port = probe.port;
    await probe.stop();
    const redis = await start({ port });
    expect(redis.port).toBe(port);
    const client = connect(redis.url);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
  });

  it('fails clearly when the port is taken by another server', async () => {
    const first = await start();
    const error = await startLocalRedis({ port: first.port, startTimeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalRedisError);
    expect((error as LocalRedisError).code).toBe('LOCAL_REDIS_START_FAILED');
    expect((error as Error).message).toMatch(/address already in use/i);
  });

  it('never leaves a server behind: not when the starter forgets stop(), not when it is SIGKILLed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'local-redis-test-'));
    try {
      const script = path.join(dir, 'starter.mts');
      const launcher = path.join(REPO_ROOT, 'tools/cluster/local-redis.ts');
      await writeFile(
        script,
        `import { startLocalRedis } from ${JSON.stringify(launcher)};\n` +
          `const r = await startLocalRedis();\n` +
          `process.stdout.write('pid ' + r.pid + '\\n');\n` +
          `if (process.argv[2] === 'hang') setInterval(() => {}, 1000);\n`,
      );
      const run = (mode: 'forget' | 'hang') => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, mode], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        const pid = new Promise<number>((resolve, reject) => {
          child.stdout.on('data', () => {
            const m = /pid (\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          void exited.then(() => setTimeout(() => reject(new Error(`starter exited without a pid:\n${out}`)), 100));
        });
        return { child, pid, exited };
      };

      // 1. The script ends without stop(): the server does not hold its event loop open, and goes with it.
      const forget = run('forget');
      const forgotten = await forget.pid;
      expect(await forget.exited).toBe(0);
      const forgetMs = await waitUntil('the forgotten server to exit', () => !alive(forgotten), 5_000);

      // 2. The script is SIGKILLed (no exit hook runs): the watchdog ends the server.
      const hang = run('hang');
      const orphan = await hang.pid;
      expect(alive(orphan)).toBe(true);
      hang.child.kill('SIGKILL');
      await hang.exited;
      const killMs = await waitUntil('the orphaned server to exit', () => !alive(orphan), 10_000);
      process.stdout.write(`local-redis: server gone ${forgetMs} ms after its starter exited, ${killMs} ms after it was SIGKILLed\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('startLocalRedis input checks', () => {
  it('names the missing program and how to install it', async () => {
    const error = await startLocalRedis({ binary: '/nonexistent/redis-server' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalRedisError);
    expect((error as LocalRedisError).code).toBe('LOCAL_REDIS_MISSING');
    expect((error as Error).message).toContain('/nonexistent/redis-server');
    expect((error as Error).message).toContain('apt-get install redis-server');
  });

  it('rejects a bad port or timeout, naming what is allowed', async () => {
    for (const options of [{ port: 0 }, { port: 70_000 }, { port: 1.5 }]) {
      const error = await startLocalRedis(options).catch((e: unknown) => e);
      expect((error as LocalRedisError).code).toBe('LOCAL_REDIS_BAD_OPTION');
      expect((error as Error).message).toMatch(/port must be an integer 1\.\.65535/);
    }
    const error = await startLocalRedis({ startTimeoutMs: -1 }).catch((e: unknown) => e);
    expect((error as LocalRedisError).code).toBe('LOCAL_REDIS_BAD_OPTION');
    expect((error as Error).message).toMatch(/startTimeoutMs must be a positive number/);
  });
});
