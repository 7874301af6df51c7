// A minimal logger dependency: adapters pass their own; the default writes to stderr with a prefix.

export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

export function consoleLogger(prefix = '[bot]'): Logger {
  const out = (level: string) => (message: string, detail?: unknown) =>
    detail === undefined ? console.error(`${prefix} ${level} ${message}`) : console.error(`${prefix} ${level} ${message}`, detail);
  return { debug: () => {}, info: out('info'), warn: out('warn'), error: out('error') };
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
