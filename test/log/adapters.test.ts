// The libraries' own logs routed into the one logger: Bolt through its Logger interface (bots/slack/bolt-logger.ts)
// and grpc-js through grpc.setLogger / setLogVerbosity (shared/log/grpc.ts), each at the configured level.
import * as grpc from '@grpc/grpc-js';
import { LogLevel } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { botLogger, silentLogger } from '../../bots/core/logger.ts';
import { boltLevelFor, boltLogger } from '../../bots/slack/bolt-logger.ts';
import { createLogger } from '../../shared/log/create-logger.ts';
import { routeGrpcLogs } from '../../shared/log/grpc.ts';

function capture(level: 'debug' | 'info' | 'warn' | 'error', scope = 'slack') {
  const lines: string[] = [];
  const log = createLogger({ level, format: 'json', scope, clock: () => new Date(0), write: (l) => lines.push(l) });
  return { lines, log, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("Bolt's Logger over the bots' logger", () => {
  it('maps our levels onto Bolt\'s and starts at the level the logger writes from', () => {
    expect([boltLevelFor('debug'), boltLevelFor('info'), boltLevelFor('warn'), boltLevelFor('error'), boltLevelFor('silent')]).toEqual([LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR, LogLevel.ERROR]);
    expect(boltLogger(botLogger(capture('debug').log)).getLevel()).toBe(LogLevel.DEBUG);
    expect(boltLogger(botLogger(capture('warn').log)).getLevel()).toBe(LogLevel.WARN);
    expect(boltLogger(silentLogger).getLevel()).toBe(LogLevel.ERROR);
  });

  it("writes console-style arguments as one message, drops what is below setLevel, and names Bolt's part", () => {
    const c = capture('debug');
    const bolt = boltLogger(botLogger(c.log));
    bolt.setLevel(LogLevel.INFO);
    bolt.debug('hidden');
    bolt.info('socket mode', 'connected in', 12, 'ms');
    bolt.setName('socket-mode:SocketModeClient:0');
    bolt.warn('reconnecting: %s', 'ping timeout');
    bolt.error(new Error('gone'));
    expect(bolt.getLevel()).toBe(LogLevel.INFO);
    const records = c.records();
    expect(records.map((r) => [r.level, r.msg, r.component])).toEqual([
      ['info', 'socket mode connected in 12 ms', undefined],
      ['warn', 'reconnecting: ping timeout', 'socket-mode:SocketModeClient:0'],
      ['error', expect.stringMatching(/^Error: gone\n {4}at /), 'socket-mode:SocketModeClient:0'],
    ]);
  });

  // The Web API's 429s are counted from WebClient's RATE_LIMITED event (bots/slack/rate-limits.ts; test/slack/rate-limits
  // .test.ts against the emulator's 429s): its log line is only a line, dropped below the level like any other.
  it("drops the Web API's rate-limited info line below the level, as any line", () => {
    const c = capture('warn');
    const bolt = boltLogger(botLogger(c.log));
    bolt.info('API Call failed due to rate limiting. Will retry in 1 seconds.');
    expect(c.lines).toEqual([]);
  });
});

describe('grpc-js logs', () => {
  afterEach(() => {
    grpc.setLogger(console);
    grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
  });

  it('go into the logger with scope grpc, at the verbosity of the level', () => {
    const c = capture('info', '');
    expect(routeGrpcLogs(c.log, 'info', { env: {} })).toBe(grpc.logVerbosity.INFO);
    grpc.experimental.log(grpc.logVerbosity.DEBUG, 'hidden at info');
    grpc.experimental.log(grpc.logVerbosity.INFO, 'channel %s ready', 'x');
    grpc.experimental.log(grpc.logVerbosity.ERROR, 'No address added out of total 1 resolved');
    expect(c.records().map((r) => [r.level, r.scope, r.msg])).toEqual([
      ['info', 'grpc', 'channel x ready'],
      ['error', 'grpc', 'No address added out of total 1 resolved'],
    ]);
  });

  it('take the root logger only: a scoped one would write scope twice on each line', () => {
    const scoped = capture('info', 'daemon');
    expect(() => routeGrpcLogs(scoped.log, 'info', { env: {} })).toThrow('routeGrpcLogs takes the process\'s root logger, with no scope; it was given one with scope "daemon", whose grpc-js lines would carry scope twice');
    const root = capture('info', '');
    routeGrpcLogs(root.log, 'info', { env: {} });
    grpc.experimental.log(grpc.logVerbosity.INFO, 'one line');
    expect(root.lines).toEqual(['{"level":"info","time":"1970-01-01T00:00:00.000Z","scope":"grpc","msg":"one line"}']);
  });

  it('follow debug and warn, and leave an operator\'s GRPC_VERBOSITY alone', () => {
    const debug = capture('debug', '');
    expect(routeGrpcLogs(debug.log, 'debug', { env: {} })).toBe(grpc.logVerbosity.DEBUG);
    grpc.experimental.log(grpc.logVerbosity.DEBUG, 'a trace line');
    expect(debug.records().map((r) => [r.level, r.msg])).toEqual([['debug', 'a trace line']]);
    const warn = capture('warn', '');
    expect(routeGrpcLogs(warn.log, 'warn', { env: {} })).toBe(grpc.logVerbosity.ERROR);
    grpc.experimental.log(grpc.logVerbosity.INFO, 'hidden at warn');
    expect(warn.lines).toEqual([]);
    expect(routeGrpcLogs(warn.log, 'warn', { env: { GRPC_VERBOSITY: 'debug' } })).toBe(grpc.logVerbosity.DEBUG);
  });
});
