// The command-line entry points, run as a user would run them (tsx), against a fixture model package.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildFixturePackage } from './fixtures/fixture-model.ts';
import { probeClip } from '../inference/media/index.ts';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');
let dir: string;
let modelsDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-cli-'));
  modelsDir = path.join(dir, 'models');
  await buildFixturePackage(path.join(modelsDir, 'fixture'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(TSX, [script, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run animate', () => {
  it('writes the clip, previews and a summary with the seed', async () => {
    const out = path.join(dir, 'one.mp4');
    const res = await cli('inference/cli/animate.ts', ['a red ball bounces', '--models-dir', modelsDir, '--seed', '9', '--steps', '3', '--frames', '7', '--out', out, '--previews', path.join(dir, 'prev')]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/seed 9, 3 steps, 32x32, 7 frames @ 8 fps/);
    const probe = await probeClip(out);
    expect([probe.codec, probe.frames]).toEqual(['h264', 7]);
    expect((await readdir(path.join(dir, 'prev'))).some((f) => f.endsWith('.webp'))).toBe(true);
  });

  it('batch: a file of prompts in, a folder of clips out, one bad prompt does not lose the others', async () => {
    const list = path.join(dir, 'prompts.txt');
    await writeFile(list, '# A/B\na red ball\n\n' + 'x'.repeat(300) + '\na blue cube\n');
    const res = await cli('inference/cli/animate.ts', ['--batch', list, '--out-dir', path.join(dir, 'clips'), '--models-dir', modelsDir, '--steps', '1', '--seeds', '1,2', '--quiet']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/failed: prompt: is 300 characters long; at most 200 allowed/);
    const clips = (await readdir(path.join(dir, 'clips'))).sort();
    expect(clips).toEqual(['001-a-red-ball-s1.mp4', '001-a-red-ball-s2.mp4', '003-a-blue-cube-s1.mp4', '003-a-blue-cube-s2.mp4']);
  });

  it('--models-dir takes a package folder itself, or a folder linking to packages', async () => {
    const linked = path.join(dir, 'linked');
    await mkdir(linked);
    await symlink(path.join(modelsDir, 'fixture'), path.join(linked, 'mine'));
    for (const where of [path.join(modelsDir, 'fixture'), linked]) {
      const out = path.join(dir, `${path.basename(where)}.mp4`);
      const res = await cli('inference/cli/animate.ts', ['a red ball', '--models-dir', where, '--steps', '1', '--frames', '5', '--out', out, '--quiet']);
      expect(res.stderr).not.toMatch(/not usable/);
      expect((await probeClip(out)).frames).toBe(5);
    }
  });

  it('--help explains the options', async () => {
    const res = await cli('inference/cli/animate.ts', ['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--batch FILE/);
  });
});

describe('npm run daemon', () => {
  it('a bad setting stops start-up naming the variable and what it accepts', async () => {
    const res = await cli('inference/cli/daemon.ts', [], { ANIMATE_EXECUTION_PROVIDER: 'tpu', ANIMATE_MODELS_DIR: modelsDir });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/ANIMATE_EXECUTION_PROVIDER="tpu" is not valid: accepts cpu \| webgpu \| cuda/);
  });

  it('an unavailable execution provider is named at start-up', async () => {
    const res = await cli('inference/cli/daemon.ts', ['--models-dir', modelsDir, '--provider', 'webgpu', '--listen', '127.0.0.1:0']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/execution provider "webgpu" \(ANIMATE_EXECUTION_PROVIDER\) is unavailable on this machine/);
  });
});

describe('npm run eval', () => {
  it('--help lists the options; a bad number names the flag and what is allowed', async () => {
    const help = await cli('inference/eval/run-eval.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--frames-dir DIR/);
    const bad = await cli('inference/eval/run-eval.ts', ['--steps', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--steps must be a whole number ≥ 1, got "many"/);
    const unknown = await cli('inference/eval/run-eval.ts', ['--stpes', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--stpes'/);
  });
});
