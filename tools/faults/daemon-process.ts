// A real daemon in its own process, for the fault suite: spawned as `npm run daemon` would run it, found by the
// line it prints when ready, watched for death, measured by its resident memory, and stopped, killed, frozen and
// thawed on purpose by the scenarios that are about exactly that.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './options.ts';

export interface DaemonProcessOptions {
  /** Entry script. Default: this checkout's inference/cli/daemon.ts. */
  script?: string;
  modelsDir: string;
  model: string;
  /** Extra command-line arguments (e.g. ['--max-queue', '2000']). */
  args?: string[];
  /** Extra environment (e.g. { ANIMATE_TOKEN: 'x' }: tokens never go on a command line). */
  env?: Record<string, string>;
  /** How long start-up may take, ms. Default 120 000 (a loaded 2-core machine loading a real model). */
  readyTimeoutMs?: number;
}

const READY = /animate daemon ready on (\S+)/;
/** Lines of daemon output kept for the report when something goes wrong. */
const TAIL_LINES = 40;

export class DaemonProcess {
  readonly tail: string[] = [];
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private constructor(readonly child: ChildProcess, readonly address: string) {
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(options: DaemonProcessOptions): Promise<DaemonProcess> {
    const script = options.script ?? path.join(REPO_ROOT, 'inference/cli/daemon.ts');
    const args = ['--import', 'tsx', script, '--listen', '127.0.0.1:0', '--models-dir', options.modelsDir, '--model', options.model, '--log-level', 'warn', ...(options.args ?? [])];
    // The daemon's own environment minus any ANIMATE_* of the caller's shell, so the suite tests what it asks for.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANIMATE_')));
    const child = spawn(process.execPath, args, { cwd: path.resolve(path.dirname(script), '../..'), env: { ...env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) tail.push(line.slice(0, 300));
      tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
    };
    child.stderr!.on('data', keep);
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the daemon did not print "animate daemon ready on ADDRESS" within ${options.readyTimeoutMs ?? 120_000} ms; last output:\n${tail.join('\n')}`));
      }, options.readyTimeoutMs ?? 120_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        keep(chunk);
        const m = READY.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the daemon exited during start-up (code ${code}, signal ${signal}); last output:\n${tail.join('\n')}`));
      });
    });
    const daemon = new DaemonProcess(child, address);
    daemon.tail.push(...tail);
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) daemon.tail.push(line.slice(0, 300));
      daemon.tail.splice(0, Math.max(0, daemon.tail.length - TAIL_LINES));
    });
    return daemon;
  }

  /** True while the process runs (a frozen one counts as alive). */
  alive(): boolean {
    if (this.exited) return false;
    try {
      process.kill(this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  exitDescription(): string {
    return this.exited ? `exit code ${this.exited.code}, signal ${this.exited.signal}` : 'running';
  }

  /** Resident memory in bytes from /proc/PID/status (VmRSS); undefined where /proc is missing or the process is gone. */
  rssBytes(): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive()) process.kill(this.pid, sig);
  }

  /** Resolves when the process has exited (at once if it has). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exited) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** SIGTERM (the daemon drains), then SIGKILL if it has not gone within `graceMs`. Thaws a frozen one first. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive()) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      this.signal('SIGKILL');
      await this.waitExit(5000);
    }
  }
}

/** Samples a daemon's resident memory in the background and keeps the peak. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly daemon: () => DaemonProcess | undefined, everyMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): number | undefined {
    const rss = this.daemon()?.rssBytes();
    if (rss !== undefined && rss > this.peak) this.peak = rss;
    return rss;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
