// One cluster daemon (gateway, worker or both) as a process of its own, for the cluster bench: started by its command
// line as an operator would run it (`npm run daemon -- --queue URL --role ROLE …`), found ready by the line it prints,
// and killed with SIGKILL on purpose, since a worker dying mid-job is what the bench measures. Its CPU time is read
// from /proc, so the bench can tell which worker is running a job without asking the cluster's internals.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterRole } from '../../shared/config/variables.ts';
import { CodedError } from '../../shared/errors.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type ClusterDaemonErrorCode = 'CLUSTER_DAEMON_START_FAILED' | 'CLUSTER_DAEMON_START_TIMEOUT';
export class ClusterDaemonError extends CodedError<ClusterDaemonErrorCode> {}

export interface ClusterDaemonOptions {
  role: ClusterRole;
  /** redis://HOST:PORT of the cluster (--queue). */
  queueUrl: string;
  /** --models-dir and --model. */
  modelsDir: string;
  model: string;
  /** --threads (onnxruntime intra-op threads). Default 1: several daemons share the machine's cores. */
  threads?: number;
  /** --concurrency. Default 1. */
  concurrency?: number;
  /** --lease-seconds. Default: the daemon's own (ANIMATE_LEASE_SECONDS' default). */
  leaseSeconds?: number;
  /** --metrics-listen HOST:PORT. Default: none. */
  metricsListen?: string;
  /** --log-level. Default 'warn': the bench's output is its table. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long start-up may take, ms. Default 120 000 (a loaded 2-core machine loading a model). */
  readyTimeoutMs?: number;
}

const DEFAULTS = { threads: 1, concurrency: 1, logLevel: 'warn', readyTimeoutMs: 120_000 } as const;
/** A gateway or both prints this with its address; a worker the second line. */
const GATEWAY_READY = /animate daemon ready on (\S+)/;
const WORKER_READY = /animate worker ready/;
const OUTPUT_TAIL_CHARS = 4_000;
/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on every Linux we run on). */
const CLOCK_TICKS_PER_S = 100;

export interface ClusterDaemon {
  readonly role: ClusterRole;
  readonly pid: number;
  /** 'host:port' for a gateway or both; undefined for a worker (it listens on nothing). */
  readonly address: string | undefined;
  alive(): boolean;
  /** CPU seconds (user + system) the process has used so far; NaN once it is gone. */
  cpuSeconds(): number;
  /** Send a signal now, without waiting (default SIGKILL), e.g. to time a crash from the very moment it happened. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGKILL now (a crash: no drain, nothing said to Redis); resolves once the process has exited. */
  kill9(): Promise<void>;
  /** SIGTERM (the daemon drains), SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  output(): string;
}

/** Every daemon started here and still running: killed when this process exits, so none outlives the bench. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startClusterDaemon(options: ClusterDaemonOptions): Promise<ClusterDaemon> {
  const o = { ...DEFAULTS, ...options };
  const args = [
    '--import', 'tsx', 'inference/cli/daemon.ts',
    '--queue', o.queueUrl,
    '--role', o.role,
    '--models-dir', o.modelsDir,
    '--model', o.model,
    '--threads', String(o.threads),
    '--concurrency', String(o.concurrency),
    '--log-level', o.logLevel,
    ...(o.role === 'worker' ? [] : ['--listen', '127.0.0.1:0']),
    ...(o.leaseSeconds !== undefined ? ['--lease-seconds', String(o.leaseSeconds)] : []),
    ...(o.metricsListen !== undefined ? ['--metrics-listen', o.metricsListen] : []),
  ];
  // None of the caller's ANIMATE_* settings may leak in: the daemon runs with exactly the flags above.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANIMATE_')));
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-OUTPUT_TAIL_CHARS));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (live.delete(child), resolve())));
  const alive = () => child.exitCode === null && child.signalCode === null;

  const address = await new Promise<string | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ClusterDaemonError('CLUSTER_DAEMON_START_TIMEOUT', `the ${o.role} daemon printed no ready line within ${o.readyTimeoutMs} ms; its output:\n${out.trim()}`));
    }, o.readyTimeoutMs);
    const check = () => {
      const m = GATEWAY_READY.exec(out);
      if (o.role !== 'worker' && m) return done(m[1]);
      if (o.role === 'worker' && WORKER_READY.test(out)) return done(undefined);
    };
    const done = (a: string | undefined) => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', early);
      resolve(a);
    };
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new ClusterDaemonError('CLUSTER_DAEMON_START_FAILED', `the ${o.role} daemon exited during start-up (code ${code}, signal ${signal}); its output:\n${out.trim()}`));
    };
    child.stdout!.on('data', check);
    child.once('exit', early);
  });

  const waitExit = async (graceMs: number) => {
    const ended = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (!ended) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    role: o.role,
    pid: child.pid!,
    address,
    alive,
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (alive()) child.kill(signal);
    },
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (alive()) child.kill('SIGTERM');
      await waitExit(graceMs);
    },
    output: () => out,
  };
}

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces, inside parentheses): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}
