import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, VARIABLES, clientTransportFromEnv, helpText, loadConfig, readSetting } from '../../shared/config/index.ts';
import { BOOL_WORDS } from '../../shared/config/variables.ts';
import { makeTestPki, type TestPki } from '../helpers/test-certs.ts';

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
    expect(c.daemon).toEqual({ listen: '127.0.0.1:50051', modelsDir: '/repo/models', defaultModel: 'tiny-world', concurrency: 1, maxQueue: 32, maxQueuePerUser: 8, threads: 0, logLevel: 'info', logFormat: 'auto', token: undefined, tls: undefined, clientTls: undefined, executionProvider: 'cpu', remoteAddress: undefined, maxStreamsPerJob: 8, maxStreamsPerConnection: 256, drainSeconds: 30, queueUrl: undefined, role: 'both', leaseSeconds: 30, metricsListen: undefined, safetyModelDir: undefined, styleCacheMb: 256, previewIntervalMs: 250, guidancePasses: undefined, provenancePrompts: false });
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
  it('readSetting reads one variable with the same rule and message as loadConfig, and no default', () => {
    expect(readSetting({ ANIMATE_DAEMON_ADDRESS: ' gpu-box:50051 ' }, 'ANIMATE_DAEMON_ADDRESS')).toBe('gpu-box:50051');
    expect(readSetting({ ANIMATE_DAEMON_ADDRESS: '  ' }, 'ANIMATE_DAEMON_ADDRESS')).toBeUndefined();
    expect(readSetting({}, 'ANIMATE_LISTEN')).toBeUndefined();
    let thrown: unknown;
    try {
      readSetting({ ANIMATE_LISTEN: 'localhost' }, 'ANIMATE_LISTEN');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toEqual(problems({ ANIMATE_LISTEN: 'localhost' }));
    expect(() => readSetting({}, 'ANIMATE_NOPE')).toThrow(TypeError);
  });
  it('true/false words: the settings table and the client transport accept the same ones, with the same hint', () => {
    for (const [word, want] of [...BOOL_WORDS.true.map((w) => [w, true] as const), ...BOOL_WORDS.false.map((w) => [w, false] as const)]) {
      for (const shown of [word, ` ${word.toUpperCase()} `]) {
        expect(loadConfig({ PLAYGROUND_ENABLED: shown }, [], noDotenv).playground.enabled, shown).toBe(want);
        expect(clientTransportFromEnv({ ANIMATE_TLS: shown }, {}, '/').tls, shown).toEqual(want ? {} : undefined);
      }
    }
    expect(problems({ PLAYGROUND_ENABLED: 'maybe' })[0]).toContain('must be true or false (also 1/0, yes/no, on/off)');
    expect(() => clientTransportFromEnv({ ANIMATE_TLS: 'maybe' }, {}, '/')).toThrow('ANIMATE_TLS must be true or false (also 1/0, yes/no, on/off), got "maybe".');
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

describe('token and TLS settings', () => {
  let pki: TestPki;
  let dir: string;
  beforeAll(async () => {
    pki = await makeTestPki();
    dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-tls-'));
  });
  afterAll(() => pki?.remove());
  const cfg = (env: Record<string, string>) => loadConfig(env, [], { dotenv: false, cwd: dir });
  const problemsIn = (env: Record<string, string>) => {
    try {
      cfg(env);
    } catch (err) {
      return (err as ConfigError).problems;
    }
    throw new Error('expected ConfigError');
  };

  it('ANIMATE_TOKEN_FILE holds the token (trailing newline trimmed, relative to the working directory); both ways at once is refused', () => {
    writeFileSync(path.join(dir, 'token'), 's3cret value\n');
    expect(cfg({ ANIMATE_TOKEN_FILE: 'token' }).daemon.token).toBe('s3cret value');
    expect(cfg({ ANIMATE_TOKEN: 'inline' }).daemon.token).toBe('inline');
    expect(problemsIn({ ANIMATE_TOKEN: 'inline', ANIMATE_TOKEN_FILE: 'token' })).toEqual([
      'ANIMATE_TOKEN and ANIMATE_TOKEN_FILE are both set: give the token one way (ANIMATE_TOKEN_FILE, a file only the service\'s user can read, is the safer).',
    ]);
    expect(problemsIn({ ANIMATE_TOKEN_FILE: 'missing' })).toEqual([`ANIMATE_TOKEN_FILE: cannot read ${path.join(dir, 'missing')} (no such file); it must name a readable file.`]);
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(problemsIn({ ANIMATE_TOKEN_FILE: 'empty' })[0]).toBe('ANIMATE_TOKEN_FILE (empty) is empty: it must hold the token.');
  });

  it('the embedded daemon serves TLS with ANIMATE_TLS_CERT and ANIMATE_TLS_KEY, and the bots then connect with TLS', () => {
    const c = cfg({ ANIMATE_TLS_CERT: pki.files.serverCert, ANIMATE_TLS_KEY: pki.files.serverKey, ANIMATE_TLS_CA: pki.files.ca });
    expect(c.daemon.tls?.cert.equals(pki.pem.serverCert)).toBe(true);
    expect(c.daemon.tls?.key.equals(pki.pem.serverKey)).toBe(true);
    expect(c.daemon.tls?.clientCa).toBeUndefined();
    expect(c.daemon.clientTls?.ca?.equals(pki.pem.ca)).toBe(true);
    // No CA given: the system roots.
    expect(cfg({ ANIMATE_TLS_CERT: pki.files.serverCert, ANIMATE_TLS_KEY: pki.files.serverKey }).daemon.clientTls).toEqual({});
  });

  it('a remote daemon: plaintext by default, TLS with ANIMATE_TLS=true or ANIMATE_TLS_CA, a client certificate for mutual TLS', () => {
    const remote = { ANIMATE_DAEMON_ADDRESS: 'gpu-box:50051' };
    expect(cfg(remote).daemon.clientTls).toBeUndefined();
    expect(cfg({ ...remote, ANIMATE_TLS: 'true' }).daemon.clientTls).toEqual({});
    const m = cfg({ ...remote, ANIMATE_TLS_CA: pki.files.ca, ANIMATE_TLS_CLIENT_CERT: pki.files.clientCert, ANIMATE_TLS_CLIENT_KEY: pki.files.clientKey, ANIMATE_TLS_SERVER_NAME: 'localhost' }).daemon.clientTls;
    expect([m?.ca?.equals(pki.pem.ca), m?.cert?.equals(pki.pem.clientCert), m?.key?.equals(pki.pem.clientKey), m?.serverName]).toEqual([true, true, true, 'localhost']);
  });

  it('bad combinations and bad files stop start-up naming the variable', () => {
    expect(problemsIn({ ANIMATE_TLS_CERT: pki.files.serverCert })).toEqual(['ANIMATE_TLS_CERT is set without ANIMATE_TLS_KEY: serving TLS needs both, a PEM certificate and its private key.']);
    expect(problemsIn({ ANIMATE_TLS_KEY: pki.files.serverKey })).toEqual(['ANIMATE_TLS_KEY is set without ANIMATE_TLS_CERT: serving TLS needs both, a PEM certificate and its private key.']);
    expect(problemsIn({ ANIMATE_TLS_CLIENT_CA: pki.files.ca })[0]).toMatch(/^ANIMATE_TLS_CLIENT_CA needs ANIMATE_TLS_CERT and ANIMATE_TLS_KEY/);
    expect(problemsIn({ ANIMATE_TLS_CERT: pki.files.serverCert, ANIMATE_TLS_KEY: pki.files.clientKey })).toEqual([
      `ANIMATE_TLS_KEY (${pki.files.clientKey}) is not the private key of ANIMATE_TLS_CERT (${pki.files.serverCert}): give the key the certificate was made for.`,
    ]);
    expect(problemsIn({ ANIMATE_TLS_CERT: pki.files.serverKey, ANIMATE_TLS_KEY: pki.files.serverKey })[0]).toMatch(/^ANIMATE_TLS_CERT \(.*server\.key\) is not a PEM certificate/);
    expect(problemsIn({ ANIMATE_DAEMON_ADDRESS: 'gpu:1', ANIMATE_TLS_CA: path.join(dir, 'nope.pem') })).toEqual([`ANIMATE_TLS_CA: cannot read ${path.join(dir, 'nope.pem')} (no such file); it must name a readable file.`]);
    expect(problemsIn({ ANIMATE_DAEMON_ADDRESS: 'gpu:1', ANIMATE_TLS_CLIENT_CERT: pki.files.clientCert })[0]).toMatch(/^ANIMATE_TLS_CLIENT_CERT is set without ANIMATE_TLS_CLIENT_KEY/);
    expect(problemsIn({ ANIMATE_DAEMON_ADDRESS: 'gpu:1', ANIMATE_TLS: 'false', ANIMATE_TLS_CA: pki.files.ca })[0]).toMatch(/^ANIMATE_TLS=false contradicts ANIMATE_TLS_CA/);
    expect(problemsIn({ ANIMATE_TLS: 'false', ANIMATE_TLS_CERT: pki.files.serverCert, ANIMATE_TLS_KEY: pki.files.serverKey })[0]).toMatch(/the embedded daemon serves TLS/);
    expect(problemsIn({ ANIMATE_TLS_CERT: pki.files.serverCert, ANIMATE_TLS_KEY: pki.files.serverKey, ANIMATE_TLS_CLIENT_CA: pki.files.ca })).toEqual([
      'ANIMATE_TLS_CLIENT_CA makes the embedded daemon require client certificates, so the bots need one too: set ANIMATE_TLS_CLIENT_CERT and ANIMATE_TLS_CLIENT_KEY.',
    ]);
  });

  it('clientTransportFromEnv (standalone bots, the CLI): flags win over variables', () => {
    writeFileSync(path.join(dir, 'flag-token'), 'from-flag\n');
    expect(clientTransportFromEnv({ ANIMATE_TOKEN: 'env', ANIMATE_TLS_CA: pki.files.ca }, {}, dir).token).toBe('env');
    const t = clientTransportFromEnv({ ANIMATE_TOKEN: 'env', ANIMATE_TOKEN_FILE: 'x' }, { tokenFile: 'flag-token', tls: true }, dir);
    expect(t).toEqual({ token: 'from-flag', tls: {} });
    expect(() => clientTransportFromEnv({ ANIMATE_TLS: 'maybe' }, {}, dir)).toThrow('ANIMATE_TLS must be true or false (also 1/0, yes/no, on/off), got "maybe".');
    expect(() => clientTransportFromEnv({}, { token: 'a', tokenFile: 'flag-token' }, dir)).toThrow(/^--token and --token-file are both set/);
  });
});
