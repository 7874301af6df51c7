// `npm start` end to end with a fixture model as the embedded model: config → daemon → core → playground,
// a /animate through the playground's HTTP API and SSE stream, and a clean stop (in-process and on SIGINT).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAll } from '../../app/start.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { loadConfig } from '../../shared/config/index.ts';
import { probeClip } from '../../inference/media/index.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { readEvents } from '../helpers/playground-events.ts';

let modelsDir: string;
beforeAll(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'start-models-'));
  await buildFixturePackage(path.join(modelsDir, 'fixture'), { name: 'fixture', burnMs: 50 });
});
afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

const env = () => ({ ANIMATE_LISTEN: '127.0.0.1:0', ANIMATE_MODELS_DIR: modelsDir, ANIMATE_DEFAULT_MODEL: 'fixture', PLAYGROUND_PORT: '0' });

describe('npm start', () => {
  it('starts daemon + playground, serves the page, runs /animate over HTTP + SSE, and stops cleanly', async () => {
    const lines: string[] = [];
    const running = await startAll(loadConfig(env(), [], { dotenv: false }), { print: (l) => lines.push(l), logger: silentLogger });
    try {
      expect(running.playgroundUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(lines.join('\n')).toContain(`Playground  ${running.playgroundUrl}`);
      expect(lines.join('\n')).toContain('Discord not started: set DISCORD_TOKEN');
      const page = await fetch(running.playgroundUrl!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script src="/app.js"></script>');

      const session = 'startsession1';
      const events = readEvents(`${running.playgroundUrl}events?session=${session}`, (e) => e.type === 'clip' || e.type === 'fail');
      await new Promise((r) => setTimeout(r, 100));
      const post = await fetch(`${running.playgroundUrl}api/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, text: '/animate a red ball --seed 3 --steps 12' }) });
      expect(await post.json()).toMatchObject({ ok: true });
      const got = await events;
      const types = got.map((e) => e.type);
      expect(types.slice(0, 2)).toEqual(['user', 'accepted']);
      expect(types).toContain('progress');
      expect(types.at(-1)).toBe('clip');
      const clip = got.at(-1)!;
      const media = await fetch(new URL(String(clip.url), running.playgroundUrl).href);
      expect(media.headers.get('content-type')).toBe('video/mp4');
      const probe = await probeClip(Buffer.from(await media.arrayBuffer()));
      expect(probe.codec).toBe('h264');
      const range = await fetch(new URL(String(clip.url), running.playgroundUrl).href, { headers: { range: 'bytes=0-9' } });
      expect(range.status).toBe(206);
      expect((await range.arrayBuffer()).byteLength).toBe(10);
    } finally {
      await running.stop();
    }
    await expect(fetch(running.playgroundUrl!)).rejects.toThrow();
  });

  it('Ctrl-C (SIGINT) stops the real `npm start` process cleanly; --help lists the variables', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/start.ts'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (out += String(d)));
      await new Promise<void>((resolve, reject) => {
        let poll: NodeJS.Timeout | undefined;
        const done = (err?: Error) => {
          clearTimeout(timer);
          clearTimeout(poll);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve();
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => done(new Error(`app/start.ts exited (code ${code}, signal ${signal}) before its start-up line; output:\n${out}`));
        const timer = setTimeout(() => done(new Error(`no start-up line; output so far:\n${out}`)), 90_000);
        child.once('exit', onExit);
        const check = () => {
          if (out.includes('Press Ctrl-C to stop.')) done();
          else poll = setTimeout(check, 100);
        };
        check();
      });
      expect(out).toMatch(/Daemon +grpc:\/\/127\.0\.0\.1:\d+ \(model fixture, cpu\)/);
      child.kill('SIGINT');
      const code = await exited;
      expect(out).toContain('Stopped.');
      expect(code).toBe(0);
    } finally {
      // On any failure above: the child (and its daemon and playground) must not outlive the test.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }

    const help = spawn(process.execPath, ['--import', 'tsx', 'app/start.ts', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    help.stdout.on('data', (d) => (text += String(d)));
    expect(await new Promise((r) => help.on('exit', r))).toBe(0);
    expect(text).toContain('ANIMATE_DAEMON_ADDRESS');
    expect(text).toContain('default: 8787');
  });

  it('a bad variable stops startup with a message naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/start.ts'], { env: { ...process.env, ...env(), ANIMATE_EXECUTION_PROVIDER: 'tpu' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    expect(await new Promise((r) => child.on('exit', r))).toBe(2);
    expect(err).toContain('ANIMATE_EXECUTION_PROVIDER must be one of cpu, webgpu, cuda (got "tpu")');
  });
});
