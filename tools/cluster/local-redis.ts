// A throw-away Redis for tests, the cluster bench and hand runs: Debian's redis-server on a free loopback port, with
// no persistence (nothing written to disk, a restart comes back empty, as a production Redis without persistence
// does). The cluster's tests need a real Redis they own and can kill or restart; this is the one place that knows how
// to start one, wait until it answers, and make sure it never outlives the process that started it (an orphaned
// redis-server would hold a port and memory on a 2-core CI machine until someone noticed).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CodedError } from '../../shared/errors.ts';

export type LocalRedisErrorCode =
  | 'LOCAL_REDIS_BAD_OPTION'
  | 'LOCAL_REDIS_MISSING'
  | 'LOCAL_REDIS_START_FAILED'
  | 'LOCAL_REDIS_START_TIMEOUT';

export class LocalRedisError extends CodedError<LocalRedisErrorCode> {}

export interface LocalRedisOptions {
  /** The redis-server program. Default: `redis-server` found on PATH, else Debian's /usr/bin/redis-server. */
  binary?: string;
  /** Loopback port to listen on, 1..65535. Default: a free port chosen at start (retried if taken meanwhile). */
  port?: number;
  /** How long to wait for the server to answer PING, ms. Default 10 000 (a loaded CI machine starts slowly). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL, ms. Default 5 000. */
  stopTimeoutMs?: number;
  /** Extra redis-server arguments, appended after ours (e.g. ['--maxmemory', '64mb']). Default none. */
  extraArgs?: readonly string[];
}

const DEFAULTS = { startTimeoutMs: 10_000, stopTimeoutMs: 5_000 } as const;
const DEBIAN_BINARY = '/usr/bin/redis-server';
/** How often readiness (INFO answered by our pid) is polled while the server starts, ms. */
const PING_POLL_MS = 50;
/** How many times a chosen free port is retried when another process took it before redis-server bound it. */
const PORT_RACE_RETRIES = 5;
/** How much of the server's output is kept for error messages, characters. */
const OUTPUT_TAIL_CHARS = 4_000;

export interface LocalRedis {
  /** 'redis://127.0.0.1:PORT', for ANIMATE_QUEUE_URL / --queue. */
  readonly url: string;
  readonly port: number;
  /** The running redis-server's pid (changes on restart()). */
  readonly pid: number;
  /** SIGTERM, SIGKILL after stopTimeoutMs, and wait until it has exited. Safe to call twice. */
  stop(): Promise<void>;
  /** Send a signal now without waiting (default SIGKILL: Redis dies as on a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** Stop (if running) and start again on the same port, with empty data: a real restart without persistence. */
  restart(): Promise<void>;
  /** What the server printed lately, for failure messages. */
  output(): string;
}

/** Every redis-server this process started and has not seen exit: killed when the process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' runs for a normal end and process.exit(); only synchronous work is possible there, so SIGKILL.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const startTimeoutMs = checkPositive('startTimeoutMs', options.startTimeoutMs ?? DEFAULTS.startTimeoutMs);
  const stopTimeoutMs = checkPositive('stopTimeoutMs', options.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs);
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)) {
    throw new LocalRedisError('LOCAL_REDIS_BAD_OPTION', `startLocalRedis: port must be an integer 1..65535 (or left out for a free one), got ${String(options.port)}`);
  }
  const binary = resolveBinary(options.binary);
  const extraArgs = [...(options.extraArgs ?? [])];
  installExitHook();

  let current: Running | undefined;
  let port = options.port ?? 0;
  for (let attempt = 0; ; attempt++) {
    if (options.port === undefined) port = await freeLoopbackPort();
    try {
      current = await launch(binary, port, extraArgs, startTimeoutMs);
      break;
    } catch (error) {
      const raced = options.port === undefined && error instanceof LocalRedisError && /address already in use/i.test(error.message);
      if (!raced || attempt >= PORT_RACE_RETRIES) throw error;
    }
  }

  const stopCurrent = async (): Promise<void> => {
    const running = current;
    if (!running) return;
    // Held (ref) while we wait, so a script whose last step is `await redis.stop()` sees the exit happen.
    running.child.ref();
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([running.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), stopTimeoutMs)))]);
    clearTimeout(timer);
    if (!ended) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current?.child.pid ?? -1;
    },
    stop: stopCurrent,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      current?.child.kill(signal);
    },
    async restart() {
      await stopCurrent();
      current = await launch(binary, port, extraArgs, startTimeoutMs);
    },
    output: () => current?.output() ?? '',
  };
}

interface Running {
  child: ChildProcess;
  /** Resolves once the process has exited (never rejects). */
  exited: Promise<void>;
  output(): string;
}

async function launch(binary: string, port: number, extraArgs: string[], startTimeoutMs: number): Promise<Running> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    // No persistence: nothing written, a restart comes back empty.
    '--save', '',
    '--appendonly', 'no',
    // Any file Redis might still write (none with the two above) goes to the temp dir, never the caller's cwd.
    '--dir', os.tmpdir(),
    '--daemonize', 'no',
    ...extraArgs,
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  live.add(child);
  void exited.then(() => live.delete(child));
  // The process must not keep the caller's event loop alive: one that forgets stop() still exits, and the exit hook
  // (or, if the caller is SIGKILLed, the parent-death watchdog below) ends the server.
  child.unref();
  (child.stdout as net.Socket).unref();
  (child.stderr as net.Socket).unref();
  if (child.pid !== undefined) startWatchdog(child.pid);

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (spawnError) throw new LocalRedisError('LOCAL_REDIS_START_FAILED', `could not run ${binary}: ${spawnError.message}`, { cause: spawnError });
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new LocalRedisError('LOCAL_REDIS_START_FAILED', `redis-server exited (${child.exitCode ?? child.signalCode}) before answering on port ${port}:\n${out.trim()}`);
    }
    if ((await answeringPid(port)) === child.pid) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new LocalRedisError('LOCAL_REDIS_START_TIMEOUT', `redis-server (pid ${child.pid}) did not answer on 127.0.0.1:${port} within ${startTimeoutMs} ms:\n${out.trim()}`);
    }
    await delay(PING_POLL_MS);
  }
  return { child, exited, output: () => out };
}

/**
 * A process that SIGKILLs the server when this process dies, however it dies (SIGKILL included, where no exit hook
 * runs): it blocks reading a pipe from us, which the kernel closes when we are gone. Detached, so a Ctrl-C to our
 * process group does not end it before it has done its one job; it ends itself when the server exits first.
 */
function startWatchdog(serverPid: number): void {
  const script = 'while kill -0 "$1" 2>/dev/null; do if read -t 1 _; then :; elif [ $? -le 128 ]; then kill -9 "$1" 2>/dev/null; exit 0; fi; done';
  const watchdog = spawn('/bin/bash', ['-c', script, 'local-redis-watchdog', String(serverPid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.on('error', () => {}); // no bash: the exit hook still covers every end but SIGKILL
  watchdog.unref();
  (watchdog.stdin as net.Socket).unref();
}

/**
 * The pid of the Redis answering on the port, or undefined if none answers yet. The pid, not just a PONG: another
 * server already on a port we were given would answer too, before ours fails to bind and exits.
 */
function answeringPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.startsWith('-')) return done(undefined); // e.g. -LOADING
      const m = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (m) done(Number(m[1]));
    });
  });
}

/** A loopback port free right now (bound, then closed): where a server can start, or a real address nobody answers. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function resolveBinary(given: string | undefined): string {
  const missing = (what: string) =>
    new LocalRedisError('LOCAL_REDIS_MISSING', `${what}: the cluster needs Redis 6.2 or newer; on Debian or Ubuntu: sudo apt-get install redis-server`);
  if (given !== undefined) {
    if (given.includes('/')) {
      if (!isExecutable(given)) throw missing(`redis-server not found at ${given}`);
      return given;
    }
    const found = onPath(given);
    if (!found) throw missing(`${given} not found on PATH`);
    return found;
  }
  const found = onPath('redis-server') ?? (isExecutable(DEBIAN_BINARY) ? DEBIAN_BINARY : undefined);
  if (!found) throw missing('redis-server not found on PATH nor at /usr/bin/redis-server');
  return found;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function checkPositive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new LocalRedisError('LOCAL_REDIS_BAD_OPTION', `startLocalRedis: ${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
