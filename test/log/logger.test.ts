// The one logger (shared/log/, issue #24): JSON lines that parse and carry level, time, msg and the job's id; readable
// lines that keep log-escape's guarantees (no control character from a prompt reaches the terminal raw, one event is
// one line); the level honoured; `auto` deciding by the terminal; the wings' adapters (inference/log.ts,
// bots/core/logger.ts) writing through it. Exact lines for hostile input, with a fixed clock.
import { describe, expect, it } from 'vitest';
import { botLogger, consoleLogger, levelOf, silentLogger, withFields } from '../../bots/core/logger.ts';
import { childLogger, createLogger as createDaemonLogger, daemonLogger } from '../../inference/log.ts';
import { createLogger, LogSettingError, type CreateLoggerOptions } from '../../shared/log/create-logger.ts';
import { resolveLogFormat } from '../../shared/log/format.ts';

/** Nothing a terminal acts on: C0 (all of it, newline included), DEL, C1, line/paragraph separators, bidi controls. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
const EPOCH = () => new Date(0);

function capture(options: CreateLoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({ clock: EPOCH, terminal: false, write: (l) => lines.push(l), ...options });
  return { lines, log };
}

const HOSTILE = { prompt: 'a \x1b[31mred\x1b[0m ball\r\n', user: 'evil\u202egnp.exe', reason: 'nul\x00bell\x07', model: 'tiny-world', ms: 1.23456, skipped: undefined };

describe('JSON lines (ANIMATE_LOG_FORMAT=json)', () => {
  it('parse, one object per line, with level, time, msg, scope and the job id of a child logger', () => {
    const { lines, log } = capture({ format: 'json', scope: 'daemon', level: 'debug' });
    const daemon = daemonLogger(log);
    childLogger(daemon, { jobId: 'req-1' }).info('job started\nforged', HOSTILE);
    daemon.warn('plain');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toEqual({ level: 'info', time: '1970-01-01T00:00:00.000Z', scope: 'daemon', jobId: 'req-1', prompt: HOSTILE.prompt, user: HOSTILE.user, reason: HOSTILE.reason, model: 'tiny-world', ms: 1.23456, msg: 'job started\nforged' });
    expect(JSON.parse(lines[1]!)).toEqual({ level: 'warn', time: '1970-01-01T00:00:00.000Z', scope: 'daemon', msg: 'plain' });
    // Escaped by construction: the raw newline, ESC and NUL are JSON escapes on the line.
    expect(lines[0]).not.toMatch(/[\u0000-\u001f]/);
  });

  it('keep an Error detail whole (type, message, code, stack) and rename fields that would clash with pino\'s own', () => {
    const { lines, log } = capture({ format: 'json', scope: 'bot-core' });
    const bots = withFields(botLogger(log), { jobId: 'discord-7' });
    bots.error('job failed', Object.assign(new Error('boom'), { code: 'E_DAEMON' }));
    bots.info('fields', { level: 'x', msg: 'y', n: 2 });
    bots.info('text detail', 'said "hi"');
    const [err, fields, text] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(err).toMatchObject({ level: 'error', scope: 'bot-core', jobId: 'discord-7', msg: 'job failed', err: { type: 'Error', message: 'boom', code: 'E_DAEMON' } });
    expect((err!.err as { stack: string }).stack).toMatch(/^Error: boom\n {4}at .*logger\.test\.ts/);
    expect(fields).toEqual({ level: 'info', time: '1970-01-01T00:00:00.000Z', scope: 'bot-core', jobId: 'discord-7', level_: 'x', msg_: 'y', n: 2, msg: 'fields' });
    expect(text).toMatchObject({ msg: 'text detail', detail: 'said "hi"' });
  });
});

describe('no key twice on a line (pino merges none)', () => {
  it("the daemon's adapter renames reserved and clashing fields, and drops a binding repeated with its value", () => {
    const { lines, log } = capture({ format: 'json', scope: 'daemon' });
    const job = childLogger(childLogger(daemonLogger(log), { jobId: 'req-1' }), { jobId: 'req-1', step: 3 });
    job.info('fields', { level: 'x', msg: 'y', time: 't', scope: 'grpc', jobId: 'req-1', n: 2 });
    job.info('another job', { jobId: 'req-2' });
    childLogger(daemonLogger(log), { scope: 'grpc', jobId: 'req-3' }).info('scoped again');
    // Raw lines: a JSON.parse would hide a duplicate (the last wins), so the keys are counted in the text.
    for (const line of lines) for (const key of ['level', 'time', 'msg', 'scope', 'jobId']) expect(line.split(`"${key}":`).length - 1).toBe(1);
    const [fields, another, scoped] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(fields).toEqual({ level: 'info', time: '1970-01-01T00:00:00.000Z', scope: 'daemon', jobId: 'req-1', step: 3, level_: 'x', msg_: 'y', time_: 't', scope_: 'grpc', n: 2, msg: 'fields' });
    expect(another).toMatchObject({ jobId: 'req-1', jobId_: 'req-2' });
    expect(scoped).toMatchObject({ scope: 'daemon', scope_: 'grpc', jobId: 'req-3' });
  });
});

describe('pretty lines (ANIMATE_LOG_FORMAT=pretty)', () => {
  it('write one line for a hostile message and fields, every control character escaped', () => {
    const { lines, log } = capture({ format: 'pretty', scope: 'daemon', level: 'debug' });
    childLogger(daemonLogger(log), { jobId: 'req-1' }).warn('job failed\n1970-01-01T00:00:00.000Z INFO  [daemon] forged', HOSTILE);
    expect(lines).toEqual([
      '1970-01-01T00:00:00.000Z WARN  [daemon] job failed\\n1970-01-01T00:00:00.000Z INFO  [daemon] forged' +
        ' jobId=req-1 prompt="a \\x1b[31mred\\x1b[0m ball\\r\\n" user="evil\\u202egnp.exe" reason="nul\\x00bell\\x07" model=tiny-world ms=1.23',
    ]);
    expect(lines[0]).not.toMatch(RAW_CONTROL);
  });

  it('escape a hostile key, scope and Error, and keep an error on its one line (its first real frame as at=)', () => {
    const { lines, log } = capture({ format: 'pretty', scope: 'bot\x1b]0;x\x07' });
    const err = Object.assign(new Error('boom\n    at forged (evil.js:1:1)\n[bot-core] error forged'), { code: 'E_DAEMON' });
    botLogger(log).error('job j1 failed', err);
    daemonLogger(log).info('x', { 'k\ney': 1 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^1970-01-01T00:00:00\.000Z ERROR \[bot\\x1b\]0;x\\x07\] job j1 failed error="Error: boom\\n {4}at forged \(evil\.js:1:1\)\\n\[bot-core\] error forged" code=E_DAEMON at="?[^"\s]*logger\.test\.ts:\d+:\d+\)?"?$/,
    );
    expect(lines[1]).toBe('1970-01-01T00:00:00.000Z INFO  [bot\\x1b]0;x\\x07] x k\\ney=1');
    for (const line of lines) expect(line).not.toMatch(RAW_CONTROL);
  });

  it('colour only the level word, and only on a terminal; auto is pretty on a terminal and JSON elsewhere', () => {
    const tty = capture({ format: 'auto', terminal: true, scope: 's' });
    tty.log.info('\x1b[2Jclear');
    expect(tty.lines).toEqual(['1970-01-01T00:00:00.000Z \x1b[32mINFO \x1b[0m [s] \\x1b[2Jclear']);
    const pipe = capture({ format: 'auto', terminal: false, scope: 's' });
    pipe.log.info('hello');
    expect(JSON.parse(pipe.lines[0]!)).toEqual({ level: 'info', time: '1970-01-01T00:00:00.000Z', scope: 's', msg: 'hello' });
    expect([resolveLogFormat('auto', true), resolveLogFormat('auto', false), resolveLogFormat('json', true), resolveLogFormat('pretty', false)]).toEqual(['pretty', 'json', 'json', 'pretty']);
  });
});

describe('levels (ANIMATE_LOG_LEVEL)', () => {
  it('hide debug at info and info at warn, through both adapters', () => {
    const info = capture({ format: 'pretty', level: 'info' });
    botLogger(info.log).debug('hidden');
    daemonLogger(info.log).debug('hidden');
    botLogger(info.log).info('shown');
    const warn = capture({ format: 'pretty', level: 'warn' });
    daemonLogger(warn.log).info('hidden');
    daemonLogger(warn.log).warn('shown');
    expect(info.lines).toEqual(['1970-01-01T00:00:00.000Z INFO  shown']);
    expect(warn.lines).toEqual(['1970-01-01T00:00:00.000Z WARN  shown']);
  });

  it('refuse a level or format not accepted, naming what is allowed', () => {
    expect(() => createLogger({ level: 'verbose' as never })).toThrow(LogSettingError);
    expect(() => createLogger({ level: 'verbose' as never })).toThrow('logger: level must be one of debug, info, warn, error, silent');
    expect(() => createLogger({ format: 'xml' as never })).toThrow('logger: format must be one of auto, json, pretty');
  });

  it('are what the adapters report to Bolt and discord.js, and the old entry points still work', () => {
    expect(levelOf(botLogger(capture({ level: 'debug' }).log))).toBe('debug');
    expect(levelOf(botLogger(capture({ level: 'warn' }).log))).toBe('warn');
    expect(levelOf(silentLogger)).toBe('silent');
    const lines: string[] = [];
    consoleLogger('[slack]', (l) => lines.push(l)).debug('hidden');
    consoleLogger('[slack]', (l) => lines.push(l), true).debug('shown');
    createDaemonLogger('warn', (l) => lines.push(l), 'daemon', EPOCH, { format: 'pretty' }).info('hidden');
    createDaemonLogger('warn', (l) => lines.push(l), 'daemon', EPOCH, { format: 'pretty' }).warn('kept');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'debug', scope: 'slack', msg: 'shown' });
    expect(lines[1]).toBe('1970-01-01T00:00:00.000Z WARN  [daemon] kept');
  });
});
