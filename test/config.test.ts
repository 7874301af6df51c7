import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, VARIABLES, helpText, loadConfig } from '../shared/config/index.ts';

const noDotenv = { dotenv: false as const, cwd: '/repo' };

function problems(env: Record<string, string>, argv: string[] = []): readonly string[] {
  try {
    loadConfig(env, argv, noDotenv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults and starts no bot without credentials', () => {
    const c = loadConfig({ PATH: '/bin', HOME: '/root' }, [], noDotenv);
    expect(c.daemon).toEqual({ listen: '127.0.0.1:50051', modelsDir: '/repo/models', defaultModel: 'tiny-world', concurrency: 1, maxQueue: 32, maxQueuePerUser: 8, threads: 0, logLevel: 'info', token: undefined, executionProvider: 'cpu', remoteAddress: undefined });
    expect(c.playground).toEqual({ enabled: true, host: '127.0.0.1', port: 8787 });
    expect(c.discord.enabled).toBe(false);
    expect(c.slack.enabled).toBe(false);
    expect(c.help).toBe(false);
  });
  it('parses every kind of value', () => {
    const c = loadConfig({
      ANIMATE_LISTEN: '0.0.0.0:6000', ANIMATE_CONCURRENCY: '2', ANIMATE_EXECUTION_PROVIDER: 'cuda', ANIMATE_DAEMON_ADDRESS: 'gpu-box:50051',
      PLAYGROUND_ENABLED: 'no', PLAYGROUND_PORT: '0', DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '123456789', DISCORD_MAX_UPLOAD_MB: '25',
      SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'http', SLACK_SIGNING_SECRET: 's', SLACK_PORT: '4000', SLACK_ADMIN_USER_IDS: 'U1, U2',
    }, [], noDotenv);
    expect(c.daemon).toMatchObject({ listen: '0.0.0.0:6000', concurrency: 2, executionProvider: 'cuda', remoteAddress: 'gpu-box:50051' });
    expect(c.playground).toEqual({ enabled: false, host: '127.0.0.1', port: 0 });
    expect(c.discord).toMatchObject({ enabled: true, token: 't', applicationId: '123456789', maxUploadBytes: 25 * 1024 * 1024 });
    expect(c.slack).toMatchObject({ enabled: true, mode: 'http', signingSecret: 's', port: 4000, adminUserIds: ['U1', 'U2'] });
  });
  it('names the bad variable and what it accepts, all problems at once', () => {
    const p = problems({ ANIMATE_EXECUTION_PROVIDER: 'tpu', PLAYGROUND_PORT: '99999', ANIMATE_LISTEN: 'localhost', PLAYGROUND_ENABLED: 'maybe' });
    expect(p).toEqual([
      'ANIMATE_LISTEN must be HOST:PORT, e.g. 127.0.0.1:50051 (got "localhost"); accepts HOST:PORT.',
      'ANIMATE_EXECUTION_PROVIDER must be one of cpu, webgpu, cuda (got "tpu"); accepts cpu | webgpu | cuda.',
      'PLAYGROUND_ENABLED must be true or false (also 1/0, yes/no, on/off) (got "maybe"); accepts true | false.',
      'PLAYGROUND_PORT must be a port number from 0 to 65535 (0 picks a free one) (got "99999"); accepts 0–65535.',
    ]);
  });
  it('refuses unknown variables with our prefixes and suggests the right one; leaves others alone', () => {
    expect(problems({ ANIMATE_CONCURENCY: '2', OTHER_THING: 'x' })).toEqual(['unknown variable ANIMATE_CONCURENCY. Did you mean ANIMATE_CONCURRENCY?']);
    expect(problems({ SLACK_WHATEVER_ELSE_ENTIRELY: '1' })[0]).toBe('unknown variable SLACK_WHATEVER_ELSE_ENTIRELY.');
  });
  it('hides secrets in messages and checks credentials that go together', () => {
    expect(problems({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual(['SLACK_APP_TOKEN is required when SLACK_BOT_TOKEN is set and SLACK_MODE=socket (an xapp-… token with connections:write).']);
    expect(problems({ DISCORD_TOKEN: 'abc' })[0]).toContain('DISCORD_APPLICATION_ID is required');
    expect(problems({ DISCORD_TOKEN: 'abc', DISCORD_APPLICATION_ID: 'x' })[0]).toContain('DISCORD_APPLICATION_ID must be a numeric id');
  });
  it('reads .env below the environment', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    writeFileSync(path.join(dir, '.env'), 'PLAYGROUND_PORT=9000\nANIMATE_DEFAULT_MODEL=from-file\nANIMATE_TYPO=1\n');
    expect(() => loadConfig({}, [], { cwd: dir })).toThrow('unknown variable ANIMATE_TYPO (in .env).');
    writeFileSync(path.join(dir, '.env'), 'PLAYGROUND_PORT=9000\nANIMATE_DEFAULT_MODEL=from-file\n');
    const c = loadConfig({ PLAYGROUND_PORT: '9001' }, [], { cwd: dir });
    expect(c.playground.port).toBe(9001);
    expect(c.daemon.defaultModel).toBe('from-file');
    expect(c.dotenvPath).toBe(path.join(dir, '.env'));
  });
  it('--help is recognised even with bad values, and lists every variable with its default', () => {
    expect(loadConfig({ PLAYGROUND_PORT: 'x' }, ['--help'], noDotenv).help).toBe(true);
    expect(problems({}, ['--verbose'])[0]).toContain('unknown argument "--verbose"');
    const text = helpText();
    for (const v of VARIABLES) expect(text).toContain(v.name);
    expect(text).toContain('default: 127.0.0.1:50051');
    expect(text).toContain('default: tiny-world');
    expect(text).toContain('default: 8787');
  });
});
