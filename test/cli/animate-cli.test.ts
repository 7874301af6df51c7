// `npm run animate` (and the other command lines' --version) run as a person runs them, as child processes (tsx),
// against one fixture daemon process on loopback: the exact texts of --version, did-you-mean, a negative guidance
// refused with the model's range, the format taken from --out's extension (checked with ffprobe), the size written
// for an upscaled GIF, and the one line for a daemon address where nothing listens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { probeClip } from '../../inference/media/index.ts';
import { startDaemonProcess, type DaemonProcess } from '../helpers/daemon-process.ts';
import { HELP_WIDTH } from '../../inference/cli/animate-help.ts';
import { DAEMON_UNREACHABLE_HINT } from '../../shared/rpc/rpc-error.ts';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');
const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };
let dir: string;
let modelsDir: string;
let daemon: DaemonProcess;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-cli-c-'));
  modelsDir = path.join(dir, 'models');
  await buildFixturePackage(path.join(modelsDir, 'fixture'));
  daemon = await startDaemonProcess({ modelsDir, defaultModel: 'fixture' });
}, 120_000);
afterAll(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs a script with tsx; no ANIMATE_DAEMON_ADDRESS from the shell unless a test sets it. */
async function cli(script: string, args: string[], env: Record<string, string> = {}, cwd = process.cwd()) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'ANIMATE_DAEMON_ADDRESS'));
  try {
    const { stdout, stderr } = await run(TSX, [path.resolve(script), ...args], { cwd, env: { ...base, ...env }, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const animate = (args: string[], env: Record<string, string> = {}) => cli('inference/cli/animate.ts', args, env);

/** A loopback port where nothing listens: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('--version', () => {
  it('prints the package version, for animate, the daemon and npm start', async () => {
    const expected = `${PKG.name} ${PKG.version}\n`;
    for (const script of ['inference/cli/animate.ts', 'inference/cli/daemon.ts', 'app/start.ts']) {
      const res = await cli(script, ['--version']);
      expect([res.code, res.stdout, res.stderr], script).toEqual([0, expected, '']);
    }
  }, 120_000);
});

describe('flags', () => {
  it('an unknown flag gets the nearest one and the list of allowed flags, exit 2', async () => {
    const res = await animate(['a red ball', '--gudance', '3']);
    expect(res.code).toBe(2);
    const [first, second, ...rest] = res.stderr.split('\n');
    expect(first).toBe('animate: unknown flag --gudance; did you mean --guidance?');
    expect(second).toMatch(/^animate takes: --negative, --seed, --steps, --guidance, .*, --quiet, --version, --help \(`npm run animate -- --help` explains each\)$/);
    expect(rest).toEqual(['']);
    const daemonTypo = await cli('inference/cli/daemon.ts', ['--concurency', '2']);
    expect(daemonTypo.stderr.split('\n')[0]).toBe('animate daemon: unknown flag --concurency; did you mean --concurrency?');
  }, 60_000);

  it('--guidance -3 reaches the daemon and is refused with the model\'s range', async () => {
    const res = await animate(['a red ball', '--daemon', daemon.address, '--guidance', '-3', '--quiet', '--out', path.join(dir, 'neg.mp4')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('animate: "a red ball" failed: guidance_scale: -3 is out of range; allowed: a number from 1 to 20\n');
    expect(existsSync(path.join(dir, 'neg.mp4'))).toBe(false);
  }, 60_000);
});

describe('--out and the format', () => {
  it('--out x.mkv is refused naming the extensions the daemon writes; a contradicting --format too', async () => {
    const mkv = await animate(['a red ball', '--daemon', daemon.address, '--out', path.join(dir, 'x.mkv')]);
    expect(mkv.code).toBe(2);
    expect(mkv.stderr).toBe(`animate: --out ${path.join(dir, 'x.mkv')}: the daemon writes mp4, gif, webp clips, not .mkv; name the file .mp4, .gif or .webp (e.g. --out ${path.join(dir, 'x.mp4')})\n`);
    expect(existsSync(path.join(dir, 'x.mkv'))).toBe(false);
    const both = await animate(['a red ball', '--daemon', daemon.address, '--format', 'mp4', '--out', path.join(dir, 'y.gif')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(`animate: --out ${path.join(dir, 'y.gif')} is a .gif file but --format asks for mp4; drop --format (the extension decides) or name the file .mp4\n`);
  }, 60_000);

  it('the extension picks the format; a GIF upscaled 2x is reported at the size written, and ffprobe agrees', async () => {
    const gif = path.join(dir, 'new', 'folder', 'up.gif');
    const res = await animate(['a red ball', '--daemon', daemon.address, '--seed', '5', '--steps', '1', '--frames', '5', '--upscale', '2', '--out', gif, '--quiet']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^${gif.replace(/[.]/g, '\\.')}: seed 5, 1 steps, 64x64 \\(32x32 upscaled 2x\\), 5 frames @ 8 fps, \\d+ ms\\n$`));
    const probe = await probeClip(gif);
    console.log(`up.gif: ${probe.formatName} ${probe.codec} ${probe.width}x${probe.height}, ${probe.frames} frames`);
    expect([probe.formatName, probe.codec, probe.width, probe.height, probe.frames]).toEqual(['gif', 'gif', 64, 64, 5]);
    const webp = path.join(dir, 'plain.webp');
    const plain = await animate(['a red ball', '--daemon', daemon.address, '--seed', '5', '--steps', '1', '--frames', '5', '--out', webp, '--quiet']);
    expect(plain.stdout).toMatch(/: seed 5, 1 steps, 32x32, 5 frames @ 8 fps, \d+ ms\n$/);
    expect((await probeClip(webp)).codec).toBe('webp');
  }, 90_000);
});

describe('--seeds', () => {
  it('writes each seed beside --out in its folder, a dot in the folder name included; an empty item is refused', async () => {
    const folder = path.join(dir, 'runs.v2');
    const res = await animate(['a red ball', '--daemon', daemon.address, '--seeds', '1,2', '--steps', '1', '--frames', '5', '--out', path.join(folder, 'clip'), '--quiet']);
    expect(res.code).toBe(0);
    expect([existsSync(path.join(folder, 'clip-s1.mp4')), existsSync(path.join(folder, 'clip-s2.mp4')), existsSync(path.join(dir, 'runs-s1.mp4'))]).toEqual([true, true, false]);
    expect((await probeClip(path.join(folder, 'clip-s2.mp4'))).codec).toBe('h264');
    const blank = await animate(['a red ball', '--daemon', daemon.address, '--seeds', '1,,2', '--quiet']);
    expect([blank.code, blank.stdout, blank.stderr]).toEqual([2, '', 'animate: --seeds "1,,2" has an empty item; give whole numbers ≥ 0 separated by commas, e.g. --seeds 1,2,3\n']);
  }, 90_000);
});

describe('an unreachable daemon', () => {
  it('is one line naming the address and ANIMATE_DAEMON_ADDRESS, with no grpc-js text, exit 1', async () => {
    const port = await closedPort();
    // The client's advice, word for word as the bots give it (shared/rpc/rpc-error.ts), and the CLI's own note.
    const hint = 'Start the daemon (npm run daemon), or set ANIMATE_DAEMON_ADDRESS to the HOST:PORT of one that runs. With neither --daemon nor ANIMATE_DAEMON_ADDRESS, animate runs one in this process.';
    expect(hint.startsWith(DAEMON_UNREACHABLE_HINT)).toBe(true);
    const flag = await animate(['a red ball', '--daemon', `127.0.0.1:${port}`, '--quiet']);
    expect([flag.code, flag.stdout, flag.stderr]).toEqual([1, '', `animate: cannot reach the daemon at 127.0.0.1:${port} (--daemon): connection refused: nothing listens there. ${hint}\n`]);
    const env = await animate(['a red ball', '--quiet'], { ANIMATE_DAEMON_ADDRESS: `127.0.0.1:${port}` });
    expect([env.code, env.stderr]).toEqual([1, `animate: cannot reach the daemon at 127.0.0.1:${port} (ANIMATE_DAEMON_ADDRESS): connection refused: nothing listens there. ${hint}\n`]);
    // A batch is told once, not once per prompt.
    let other = await closedPort();
    while (other === port) other = await closedPort();
    const list = await animate(['a red ball', '--daemon', `127.0.0.1:${port},127.0.0.1:${other}`, '--seeds', '1,2,3', '--quiet']);
    expect(list.stderr.split('\n').filter(Boolean)).toEqual([`animate: cannot reach the gateways at 127.0.0.1:${port}, 127.0.0.1:${other} (--daemon): connection refused: nothing listens there. ${hint}`]);
    for (const res of [flag, env, list]) expect(res.stderr).not.toMatch(/Resolution note|No connection established|Last error/);
  }, 60_000);
});

describe('--help', () => {
  it('shows the model\'s ranges and defaults, and no line is wider than the help width', async () => {
    const embedded = await animate(['--help']);
    expect(embedded.code).toBe(0);
    const lines = embedded.stdout.split('\n');
    const widest = Math.max(...lines.map((l) => l.length));
    console.log(`animate --help: ${lines.length} lines, widest ${widest} characters`);
    expect(widest).toBeLessThanOrEqual(HELP_WIDTH);
    expect(lines).toContain('  --guidance X         classifier-free guidance scale, 1–20 (default 4.5); 1 disables guidance');
    expect(lines).toContain('  --frames N           frame count, 1–33, 1 + a multiple of 4 (default 17)');
    expect(lines).toContain('  npm run animate -- "a pink heart grows in the sky" --out out/heart.mp4');
    for (const flag of ['--negative', '--seed', '--steps', '--width N --height N', '--aspect', '--fps', '--scheduler', '--model', '--upscale', '--format', '--out FILE', '--previews', '--batch', '--out-dir', '--seeds', '--daemon', '--token-file', '--tls ', '--tls-ca', '--tls-client-cert', '--tls-server-name', '--models-dir', '--quiet', '--version', '-h, --help']) {
      expect(embedded.stdout, flag).toContain(`  ${flag}`);
    }
    const fixture = await animate(['--help', '--models-dir', modelsDir, '--model', 'fixture']);
    expect(fixture.stdout).toContain('  --steps N            denoising steps, 1–50 (default 4)');
    expect(fixture.stdout).toContain('  --width N --height N size in pixels, 16–128 in steps of 8 (default 32x32)');
  }, 60_000);
});
