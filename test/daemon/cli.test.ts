// The command-line entry points, run as a user would run them (tsx), against a fixture model package.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { probeClip } from '../../inference/media/index.ts';
import { startDaemonProcess } from '../helpers/daemon-process.ts';
import { makeTestPki } from '../helpers/test-certs.ts';
import { loadProtos } from '../../shared/rpc/proto.ts';

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

  it('a job that ends OK without clip bytes fails, naming it, and writes nothing', async () => {
    // A scripted daemon: Done, then OK, and no ClipChunk at all.
    const server = new grpc.Server();
    server.addService(loadProtos().animator.animate.v1.Animator.service, {
      Generate: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write({ done: { seed: 4, steps: 1, width: 32, height: 32, frames: 5, fps: 8 } });
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    try {
      const out = path.join(dir, 'empty.mp4');
      const res = await cli('inference/cli/animate.ts', ['a red ball', '--daemon', `127.0.0.1:${port}`, '--out', out, '--quiet']);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/failed: the daemon finished the job \(seed 4, .*\) but sent no clip, so nothing was written to .*empty\.mp4/);
      expect((await readdir(dir)).includes('empty.mp4')).toBe(false);
    } finally {
      server.forceShutdown();
    }
  });

  it('a local run ignores client TLS variables; --daemon must be HOST:PORT like ANIMATE_DAEMON_ADDRESS', async () => {
    const out = path.join(dir, 'local.mp4');
    // A stale CA path from another shell: it concerns remote daemons only, and this run starts its own.
    const local = await cli('inference/cli/animate.ts', ['a red ball', '--models-dir', modelsDir, '--steps', '1', '--frames', '5', '--out', out, '--quiet'], { ANIMATE_TLS_CA: path.join(dir, 'gone-ca.pem'), ANIMATE_TLS: 'true' });
    expect(local.code, local.stderr).toBe(0);
    expect((await probeClip(out)).frames).toBe(5);
    const bad = await cli('inference/cli/animate.ts', ['a red ball', '--daemon', 'localhost', '--quiet']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('animate: --daemon must be HOST:PORT, e.g. 127.0.0.1:50051 (got "localhost")');
    const badEnv = await cli('inference/cli/animate.ts', ['a red ball', '--quiet'], { ANIMATE_DAEMON_ADDRESS: 'localhost' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/ANIMATE_DAEMON_ADDRESS must be HOST:PORT/);
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

describe('token and TLS between the CLIs', () => {
  it('bad TLS settings stop the daemon naming the flag or variable', async () => {
    const pki = await makeTestPki();
    try {
      const half = await cli('inference/cli/daemon.ts', ['--models-dir', modelsDir, '--listen', '127.0.0.1:0', '--tls-cert', pki.files.serverCert]);
      expect(half.code).toBe(1);
      expect(half.stderr).toContain('--tls-cert is set without --tls-key (ANIMATE_TLS_KEY): serving TLS needs both, a PEM certificate and its private key.');
      const missing = path.join(dir, 'no-such.pem');
      const unreadable = await cli('inference/cli/daemon.ts', ['--models-dir', modelsDir, '--listen', '127.0.0.1:0'], { ANIMATE_TLS_CERT: missing, ANIMATE_TLS_KEY: pki.files.serverKey });
      expect(unreadable.code).toBe(1);
      expect(unreadable.stderr).toContain(`ANIMATE_TLS_CERT: cannot read ${missing} (no such file); it must name a readable file.`);
      const tokens = await cli('inference/cli/daemon.ts', ['--models-dir', modelsDir, '--listen', '127.0.0.1:0'], { ANIMATE_TOKEN: 'a', ANIMATE_TOKEN_FILE: pki.files.ca });
      expect(tokens.code).toBe(1);
      expect(tokens.stderr).toContain('ANIMATE_TOKEN and ANIMATE_TOKEN_FILE are both set');
    } finally {
      await pki.remove();
    }
  });

  it('npm run animate reaches a mutual-TLS daemon with a token file; without the CA or the client certificate it is told why', async () => {
    const pki = await makeTestPki();
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, 'a-long-random-token\n', { mode: 0o600 });
    const daemon = await startDaemonProcess({
      modelsDir,
      defaultModel: 'fixture',
      env: { ANIMATE_TLS_CERT: pki.files.serverCert, ANIMATE_TLS_KEY: pki.files.serverKey, ANIMATE_TLS_CLIENT_CA: pki.files.ca, ANIMATE_TOKEN_FILE: tokenFile },
    });
    try {
      const out = path.join(dir, 'tls.mp4');
      const client = ['--tls-client-cert', pki.files.clientCert, '--tls-client-key', pki.files.clientKey];
      const ok = await cli('inference/cli/animate.ts', ['a red ball', '--daemon', daemon.address, '--tls-ca', pki.files.ca, ...client, '--token-file', tokenFile, '--steps', '1', '--frames', '5', '--out', out, '--quiet']);
      expect(ok.stderr).not.toMatch(/animate:|failed/);
      expect(ok.code).toBe(0);
      expect((await probeClip(out)).frames).toBe(5);
      // The same through the variables.
      const viaEnv = await cli('inference/cli/animate.ts', ['a red ball', '--steps', '1', '--frames', '5', '--out', out, '--quiet'], {
        ANIMATE_DAEMON_ADDRESS: daemon.address, ANIMATE_TLS_CA: pki.files.ca, ANIMATE_TLS_CLIENT_CERT: pki.files.clientCert, ANIMATE_TLS_CLIENT_KEY: pki.files.clientKey, ANIMATE_TOKEN_FILE: tokenFile,
      });
      expect(viaEnv.code).toBe(0);

      const noCa = await cli('inference/cli/animate.ts', ['a red ball', '--daemon', daemon.address, '--tls', ...client, '--token-file', tokenFile, '--steps', '1', '--quiet']);
      expect(noCa.code).toBe(1);
      expect(noCa.stderr).toMatch(new RegExp(`failed: the daemon at ${daemon.address} is unreachable: no connection within 3000 ms \\(.*(certificate|verify)`, 'i'));
      const noCert = await cli('inference/cli/animate.ts', ['a red ball', '--daemon', daemon.address, '--tls-ca', pki.files.ca, '--token-file', tokenFile, '--steps', '1', '--quiet']);
      expect(noCert.code).toBe(1);
      expect(noCert.stderr).toMatch(/is unreachable/);
      const wrongToken = await cli('inference/cli/animate.ts', ['a red ball', '--daemon', daemon.address, '--tls-ca', pki.files.ca, ...client, '--steps', '1', '--quiet'], { ANIMATE_TOKEN: 'guess' });
      expect(wrongToken.code).toBe(1);
      expect(wrongToken.stderr).toMatch(/the token in "authorization" is not the one this daemon was started with/);
    } finally {
      await daemon.stop();
      await pki.remove();
    }
  });
});

describe('npm run eval', () => {
  it('--help lists the options; a bad number names the flag and what is allowed', async () => {
    const help = await cli('tools/eval/run-eval.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--frames-dir DIR/);
    const bad = await cli('tools/eval/run-eval.ts', ['--steps', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--steps must be a whole number ≥ 1, got "many"/);
    const unknown = await cli('tools/eval/run-eval.ts', ['--stpes', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--stpes'/);
  });
});
