// `npm run animate -- … --style NAME --style-strength X`, run as a person runs it (tsx child processes) against a
// daemon process serving the LoRA fixture package: the summary names the style the daemon used, an unknown style is
// the daemon's refusal naming the styles there are, and --help lists the package's styles with their descriptions
// and example commands, no line wider than the help width.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HELP_WIDTH } from '../../inference/cli/animate-help.ts';
import { probeClip } from '../../inference/media/index.ts';
import { buildLoraFixturePackage } from '../fixtures/lora-fixture.ts';
import { startDaemonProcess, type DaemonProcess } from '../helpers/daemon-process.ts';
import { readFile } from 'node:fs/promises';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');
let dir: string;
let modelsDir: string;
let daemon: DaemonProcess;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-cli-styles-'));
  modelsDir = path.join(dir, 'models');
  await buildLoraFixturePackage(path.join(modelsDir, 'styled'), { name: 'styled' });
  daemon = await startDaemonProcess({ modelsDir, defaultModel: 'styled' });
}, 120_000);
afterAll(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function animate(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'ANIMATE_DAEMON_ADDRESS'));
  try {
    const { stdout, stderr } = await run(TSX, [path.resolve('inference/cli/animate.ts'), ...args], { env, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('--style', () => {
  it('makes the clip in the style; the summary says which and how strongly', async () => {
    const out = path.join(dir, 'ink.mp4');
    const res = await animate(['a red ball bounces', '--daemon', daemon.address, '--style', 'ink', '--style-strength', '1.5', '--seed', '3', '--steps', '2', '--quiet', '--out', out]);
    console.log(res.stdout.trim());
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(', 5 frames @ 8 fps, style ink at 1.5, ');
    expect((await probeClip(await readFile(out))).codec).toBe('h264');
  });

  it('an unknown style is the daemon\'s refusal, naming the styles the model has', async () => {
    const res = await animate(['a red ball', '--daemon', daemon.address, '--style', 'chalk', '--quiet', '--out', path.join(dir, 'x.mp4')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('"chalk" is not a style of model "styled"; its styles: ink, neon');
  });

  it('--help lists the package\'s styles with descriptions and example commands', async () => {
    const res = await animate(['--help', '--models-dir', modelsDir, '--model', 'styled']);
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines).toContain('  --style NAME         a style of the model (a LoRA adapter): ink, neon (below)');
    expect(lines).toContain('  --style-strength X   how strongly the style applies, 0–2 (default 1; 0: the base model)');
    const at = lines.indexOf('Styles of styled:');
    expect(lines.slice(at, at + 5)).toEqual([
      'Styles of styled:',
      '  ink                ink wash: black strokes on rice paper',
      '                     e.g. npm run animate -- "a red ball bounces on the grass" --style ink',
      '  neon               neon outlines on black',
      '                     e.g. npm run animate -- "a blue bird flies at night" --style neon',
    ]);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(HELP_WIDTH);
  });
});
