// Bolt's Logger interface (debug/info/warn/error with console-style arguments, setLevel/getLevel/setName) over the
// bots' logger, so Bolt, its receivers and the Web API clients it makes log into the product's one logger, in its
// format, instead of Bolt's ConsoleLogger. Bolt sets the level it was given (App's logLevel) through setLevel; the
// adapter then drops what is below it, whatever the logger underneath would write. setName (Bolt names its parts:
// 'bolt-app', 'socket-mode:SocketModeClient:0', 'web-api:WebClient:0') becomes a `component` field on each line.
// (The Web API's 429s are counted from its RATE_LIMITED event, rate-limits.ts, not from its log text.)
import { format } from 'node:util';
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { levelOf, withFields, type Logger } from '../core/logger.ts';

const ORDER: Record<LogLevel, number> = { [LogLevel.DEBUG]: 10, [LogLevel.INFO]: 20, [LogLevel.WARN]: 30, [LogLevel.ERROR]: 40 };

/** The Bolt level for one of ours ('silent' keeps Bolt at ERROR, and the logger underneath writes nothing). */
export function boltLevelFor(level: ReturnType<typeof levelOf>): LogLevel {
  return { debug: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN, error: LogLevel.ERROR, silent: LogLevel.ERROR }[level];
}

export function boltLogger(logger: Logger): BoltLogger {
  let level = boltLevelFor(levelOf(logger));
  let target = logger;
  const at = (l: LogLevel, write: (m: string) => void) => (...msg: unknown[]) => {
    const text = format(...msg);
    if (ORDER[l] >= ORDER[level]) write(text);
  };
  return {
    debug: at(LogLevel.DEBUG, (m) => target.debug(m)),
    info: at(LogLevel.INFO, (m) => target.info(m)),
    warn: at(LogLevel.WARN, (m) => target.warn(m)),
    error: at(LogLevel.ERROR, (m) => target.error(m)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: (name: string) => {
      target = withFields(logger, { component: name });
    },
  };
}
