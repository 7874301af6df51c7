// The Slack app's start is bounded: with Slack unreachable (a server that accepts connections and never answers) it
// fails within SLACK_START_TIMEOUT_SECONDS with a message saying so, after one auth.test and no retries; a refused
// token says which variable; stop() during the start calls it off at once; and with Slack there, Bolt makes no
// auth.test of its own. Then the real `npm start` as a child process: the summary comes, naming Slack as failed,
// while the playground runs; and Ctrl-C while Slack is still connecting stops at once, exit 130.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { SlackAuthError, SlackStartAbortedError, SlackUnreachableError } from '../../bots/slack/auth-check.ts';
import { createSlackFrontEnd, startSlackBot } from '../../bots/slack/front-end.ts';
import type { SlackBotConfig } from '../../bots/slack/config.ts';
import { startSlackEmulator, type SlackEmulator } from './emulator/api-emulator.ts';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** A daemon address nobody listens on: the core connects lazily and no job is sent here. */
const NO_DAEMON = '127.0.0.1:9';

/** Accepts TCP connections and never answers: Slack behind a black-holing network. Counts the requests sent. */
class SilentServer {
  readonly server = net.createServer((socket) => {
    this.sockets.add(socket);
    let head = '';
    socket.on('data', (d) => {
      // One request per connection here (no answer, so no keep-alive reuse): its request line, once.
      if (head.includes('\r\n')) return;
      head += String(d);
      const line = head.split('\r\n')[0]!;
      if (head.includes('\r\n')) this.requests.push(line);
    });
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  /** Request lines received ("POST /api/auth.test HTTP/1.1"); fetch may open spare connections that send none. */
  readonly requests: string[] = [];
  get connections(): number {
    return this.requests.length;
  }
  private readonly sockets = new Set<net.Socket>();
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/api/`;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let silent: SilentServer;
let silentUrl: string;
let emulator: SlackEmulator;
let core: BotCore;

beforeAll(async () => {
  silent = new SilentServer();
  silentUrl = await silent.listen();
  emulator = await startSlackEmulator();
  core = createBotCore({ daemonAddress: NO_DAEMON, logger: silentLogger });
});
afterAll(async () => {
  await core?.close();
  await emulator?.close();
  await silent?.close();
});

const httpConfig = (extra: Partial<SlackBotConfig>): SlackBotConfig => ({
  botToken: 'xoxb-1',
  mode: 'http',
  signingSecret: 's',
  port: 0,
  host: '127.0.0.1',
  adminUserIds: [],
  maxUploadBytes: 1024 * 1024,
  ...extra,
});

describe('startSlackBot against a Slack that does not answer', () => {
  it('fails within the start timeout, after one auth.test and no retry, saying what to check', async () => {
    const before = silent.connections;
    const started = Date.now();
    const error = await startSlackBot(httpConfig({ apiUrl: silentUrl, startTimeoutMs: 1500 }), { core, logger: silentLogger }).catch((e: unknown) => e);
    const took = Date.now() - started;
    console.log(`unreachable Slack: start failed after ${took} ms (timeout 1500 ms), ${silent.connections - before} request(s)`);
    expect(error).toBeInstanceOf(SlackUnreachableError);
    expect((error as SlackUnreachableError).code).toBe('SLACK_UNREACHABLE');
    expect((error as Error).message).toBe(
      `Slack did not answer auth.test at ${silentUrl} within 1.5 s: check the network and SLACK_API_URL (SLACK_START_TIMEOUT_SECONDS sets how long to wait).`,
    );
    expect(took).toBeGreaterThanOrEqual(1400);
    // Generous for a loaded machine; without the bound it took about 30 minutes.
    expect(took).toBeLessThan(15_000);
    // Give a retry the time it would take to show: none comes.
    await new Promise((r) => setTimeout(r, 500));
    expect(silent.requests.slice(before)).toEqual(['POST /api/auth.test HTTP/1.1']);
  });

  it('stop() during the start calls it off at once', async () => {
    const frontEnd = createSlackFrontEnd(httpConfig({ apiUrl: silentUrl, startTimeoutMs: 120_000 }), { core, logger: silentLogger });
    const before = silent.connections;
    const starting = frontEnd.start().catch((e: unknown) => e);
    await waitUntil(() => silent.connections > before, 10_000, 'the auth.test request');
    const stoppedAt = Date.now();
    await frontEnd.stop();
    const error = await starting;
    console.log(`stop() during the start: settled after ${Date.now() - stoppedAt} ms`);
    expect(error).toBeInstanceOf(SlackStartAbortedError);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  });
});

describe('startSlackBot against the emulator', () => {
  it('a refused token names SLACK_BOT_TOKEN and where to find it', async () => {
    const error = await startSlackBot(httpConfig({ apiUrl: emulator.apiUrl, botToken: 'xoxb-wrong', startTimeoutMs: 5000 }), { core, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackAuthError);
    expect((error as Error).message).toBe(`Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth): set it to the Bot User OAuth Token (xoxb-…) from your app's "OAuth & Permissions" page.`);
  });

  it('starts with one auth.test, its own: Bolt is handed the bot ids and makes none', async () => {
    const before = emulator.callsOf('auth.test').length;
    const bot = await startSlackBot(httpConfig({ apiUrl: emulator.apiUrl, botToken: emulator.botToken, startTimeoutMs: 5000 }), { core, logger: silentLogger });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(emulator.callsOf('auth.test').length - before).toBe(1);
      expect(bot.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/slack\/events$/);
    } finally {
      await bot.stop();
    }
  });
});

describe('startSlackBot in Socket Mode against a Slack that takes the token but never opens the socket', () => {
  it('fails within what is left of the start timeout, naming SLACK_APP_TOKEN', async () => {
    // auth.test answers; apps.connections.open (Socket Mode's first call) is held forever.
    const held: http.ServerResponse[] = [];
    const opens: number[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/api/auth.test') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, user_id: 'U0BOT', bot_id: 'B0BOT', team: 'Held' }));
        return;
      }
      if (req.url === '/api/apps.connections.open') opens.push(Date.now());
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/api/`;
    try {
      const started = Date.now();
      const error = await startSlackBot({ ...httpConfig({ apiUrl, startTimeoutMs: 2000 }), mode: 'socket', appToken: 'xapp-1' }, { core, logger: silentLogger }).catch((e: unknown) => e);
      const took = Date.now() - started;
      console.log(`Socket Mode never connecting: start failed after ${took} ms (timeout 2000 ms); apps.connections.open sent ${opens.length}×`);
      expect(error).toBeInstanceOf(SlackUnreachableError);
      expect((error as Error).message).toBe('Socket Mode did not connect to Slack within 2 s: check the network and SLACK_APP_TOKEN (SLACK_START_TIMEOUT_SECONDS sets how long to wait).');
      expect(opens.length).toBeGreaterThanOrEqual(1);
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(15_000);
    } finally {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

async function waitUntil(probe: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `npm start` in its own process group (as from a terminal), with only the variables given. */
function npmStart(extra: Record<string, string>) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(ANIMATE_|PLAYGROUND_|DISCORD_|SLACK_|npm_)/.test(k)) env[k] = v;
  const child: ChildProcess = spawn('npm', ['start'], { cwd: REPO, env: { ...env, ...extra }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return {
    output: () => out,
    exited,
    ctrlC: () => process.kill(-child.pid!, 'SIGINT'),
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    waitFor: (pattern: RegExp, ms: number) => waitUntil(() => pattern.test(out), ms, `${pattern} in the output:\n${out}`),
  };
}

const slackEnv = (timeoutSeconds: number) => ({
  ANIMATE_DAEMON_ADDRESS: NO_DAEMON,
  PLAYGROUND_PORT: '0',
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_MODE: 'http',
  SLACK_SIGNING_SECRET: 's',
  SLACK_PORT: '0',
  SLACK_API_URL: silentUrl,
  SLACK_START_TIMEOUT_SECONDS: String(timeoutSeconds),
});

describe('npm start with SLACK_BOT_TOKEN set and Slack unreachable', () => {
  it('finishes starting: Slack is a failed line in the summary, the playground runs; Ctrl-C then exits 0', async () => {
    const run = npmStart(slackEnv(2));
    try {
      await run.waitFor(/Press Ctrl-C to stop\./, 90_000);
      const out = run.output();
      expect(out).toContain(`  · Slack failed to start: Slack did not answer auth.test at ${silentUrl} within 2 s: check the network and SLACK_API_URL (SLACK_START_TIMEOUT_SECONDS sets how long to wait).`);
      expect(out).toMatch(/ {2}Playground {2}http:\/\/127\.0\.0\.1:\d+/);
      run.ctrlC();
      expect((await run.exited).code).toBe(0);
    } finally {
      run.kill();
    }
  }, 120_000);

  it('Ctrl-C while Slack is still connecting stops at once with exit code 130', async () => {
    const before = silent.connections;
    const run = npmStart(slackEnv(120));
    try {
      // The playground is up and the Slack app waits for auth.test (its request reached the silent server).
      await waitUntil(() => silent.connections > before, 90_000, `the Slack auth.test request; output:\n${run.output()}`);
      const pressed = Date.now();
      run.ctrlC();
      const { code, at } = await run.exited;
      console.log(`Ctrl-C during start-up: exit ${code} after ${at - pressed} ms\n${run.output()}`);
      expect(code).toBe(130);
      expect(run.output()).toContain('SIGINT during start-up: stopping what has started.');
      expect(run.output()).toContain('Stopped during start-up.');
      expect(run.output()).not.toContain('animate is running:');
      // Generous for a loaded machine; the Slack timeout (120 s) was not waited out.
      expect(at - pressed).toBeLessThan(20_000);
    } finally {
      run.kill();
    }
  }, 150_000);
});
