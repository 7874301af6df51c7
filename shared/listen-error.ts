// A server that cannot listen (the daemon's gRPC port, the playground's HTTP port, the metrics endpoint) stops
// start-up with one sentence that names the setting to change and what to do, instead of grpc-js's "No address added
// out of total 1 resolved errors: [...]" or Node's bare "listen EADDRINUSE". Both wings listen, so it lives in shared/.
import { CodedError } from './errors.ts';

export const ListenErrorCode = {
  /** Something already listens there (EADDRINUSE). */
  AddressInUse: 'ADDRESS_IN_USE',
  /** Any other reason: no such local address, no permission for the port, a name that does not resolve. */
  ListenFailed: 'LISTEN_FAILED',
} as const;
export type ListenErrorCode = (typeof ListenErrorCode)[keyof typeof ListenErrorCode];

/** The setting that chose the address, as people set it. */
export interface ListenSetting {
  /** The environment variable, e.g. ANIMATE_LISTEN. */
  variable: string;
  /** The command-line flag that does the same, if there is one, e.g. --listen. */
  flag?: string | undefined;
  /** What to do when the address is in use (a sentence without its final period). Default: choose another with the setting. */
  whenInUse?: string | undefined;
}

export class ListenError extends CodedError<ListenErrorCode> {
  constructor(
    code: ListenErrorCode,
    message: string,
    /** The address that could not be listened on. */
    readonly address: string,
    /** The variable that set it. */
    readonly variable: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/** The underlying reason: grpc-js wraps Node's text ("No address added … errors: [listen EADDRINUSE: …]"). */
function reasonOf(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  const inner = /errors: \[(.*)\]\s*$/s.exec(text)?.[1];
  return (inner ?? text).replace(/^listen /, '').trim();
}

/** The ListenError for a failed listen on `address`, chosen by `setting`. */
export function listenError(address: string, setting: ListenSetting, cause: unknown): ListenError {
  const reason = reasonOf(cause);
  const named = `${setting.variable}${setting.flag ? ` / ${setting.flag}` : ''}`;
  if (/EADDRINUSE|address already in use/i.test(reason)) {
    const what = setting.whenInUse ?? `stop what uses it, or choose another address with ${setting.variable}${setting.flag ? ` (or ${setting.flag})` : ''}`;
    return new ListenError(ListenErrorCode.AddressInUse, `cannot listen on ${address} (${named}): the address is already in use; ${what}.`, address, setting.variable, { cause });
  }
  return new ListenError(ListenErrorCode.ListenFailed, `cannot listen on ${address} (${named}): ${reason.replace(/[.\s]+$/, '')}.`, address, setting.variable, { cause });
}

/** What to do when the daemon's address is in use: most often, a daemon already runs there. */
export function daemonInUseHint(address: string): string {
  return (
    `if a daemon already runs there, use it: set ANIMATE_DAEMON_ADDRESS=${address} for the bots and the CLI instead of starting another; ` +
    `otherwise stop what uses it, or choose another address with ANIMATE_LISTEN (or --listen)`
  );
}
