// Runs the daemon CLI (inference/cli/daemon.ts) in its own process, for tests where the process is the point: its
// resident memory, read from /proc, is the daemon's alone, not shared with the test's clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  /** 'host:port' it listens on ('' when its ready line names none: a cluster worker). */
  address: string;
  /** Everything it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Resident memory now (VmRSS), bytes. */
  rssBytes(): Promise<number>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface DaemonProcessOptions {
  modelsDir: string;
  defaultModel: string;
  /** Extra environment (ANIMATE_* settings). */
  env?: Record<string, string>;
  /** How long to wait for 'animate daemon ready on ADDRESS'. Default 60 s (a loaded machine starts slowly). */
  readyTimeoutMs?: number;
  /** More command-line arguments (after the listen, models-dir and model ones). Default none. */
  args?: string[];
  /**
   * The line that says it is ready; its first capture group, when it has one, is the address. Default
   * /animate daemon ready on (\S+)/ (a cluster worker listens on nothing and prints another line).
   */
  readyPattern?: RegExp;
}

export async function startDaemonProcess(options: DaemonProcessOptions): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'inference/cli/daemon.ts', '--listen', '127.0.0.1:0', '--models-dir', options.modelsDir, '--model', options.defaultModel, ...(options.args ?? [])],
    // No .env of the developer's may leak in: run with a clean ANIMATE_* environment.
    { cwd: REPO_ROOT, env: { ...withoutAnimateVariables(process.env), ANIMATE_LOG_LEVEL: 'warn', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Nobody gets a handle on a daemon that never became ready: end it here, or it outlives the test run.
      child.kill('SIGKILL');
      reject(new Error(`daemon not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${out}`));
    }, options.readyTimeoutMs ?? 60_000);
    const check = () => {
      const m = (options.readyPattern ?? /animate daemon ready on (\S+)/).exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? '');
      }
    };
    child.stdout!.on('data', check);
    // An early exit needs no kill: the process is gone already.
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code ?? signal} before it was ready:\n${out}`));
    });
  });

  return {
    child,
    pid: child.pid!,
    address,
    output: () => out,
    async rssBytes() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (!kb) throw new Error(`no VmRSS in /proc/${child.pid}/status`);
      return Number(kb[1]) * 1024;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function withoutAnimateVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('ANIMATE_')));
}
