// Before a run against a daemon elsewhere (--daemon / ANIMATE_DAEMON_ADDRESS): is anything listening there? One TCP
// connect per address tells "nothing listens" or "no such host" in one clear line naming the address and where it
// came from, before any gRPC call (whose channel text, "No connection established. Last error: … Resolution note:",
// is not for people), and once for a whole batch rather than once per prompt. A port that accepts is left to the
// gRPC call: TLS and token problems are above TCP, and the client names those. The code, the reasons' words and the
// advice are the client's (shared/rpc/rpc-error.ts), so the CLI and the bots say an unreachable daemon alike.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { CodedError } from '../../shared/errors.ts';
import { ClientCallCode, connectFailureReason, DAEMON_UNREACHABLE_HINT } from '../../shared/rpc/rpc-error.ts';
import { describeDaemonTarget, parseDaemonTarget, parseHostPort } from '../../shared/wire/address.ts';

export class DaemonUnreachableError extends CodedError<typeof ClientCallCode.DaemonUnreachable> {}

/** What the CLI adds to the client's advice: it can also run a daemon of its own. */
const IN_PROCESS_NOTE = 'With neither --daemon nor ANIMATE_DAEMON_ADDRESS, animate runs one in this process.';

export const REACH_DEFAULTS = {
  /** How long one TCP connect may take: the client's own wait for a connection (CLIENT_DEFAULTS.readyTimeoutMs). */
  timeoutMs: 3000,
} as const satisfies Required<ReachOptions>;

export interface ReachOptions {
  timeoutMs?: number;
}

interface Endpoint {
  host: string;
  port: number;
}

/** Why one TCP connect failed, in words, or undefined when it connected. */
function connectProblem({ host, port }: Endpoint, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(undefined));
    // Node's "connect ECONNREFUSED 127.0.0.1:1" in the client's words ("connection refused: nothing listens there").
    socket.once('error', (err: NodeJS.ErrnoException) => done(connectFailureReason(err.message) ?? `cannot connect (${err.code ?? 'no reason given'})`));
  });
}

/** The TCP endpoints an address names: itself, its list, or what its dns:/// name resolves to. */
async function endpointsOf(address: string): Promise<Endpoint[] | string> {
  const parsed = parseDaemonTarget(address);
  if ('problem' in parsed) return []; // checked before this is called; nothing to probe
  const t = parsed.target;
  if (t.kind === 'single') return parseHostPort(t.address) ? [parseHostPort(t.address)!] : [];
  if (t.kind === 'list') return t.entries;
  try {
    return (await lookup(t.host.replace(/^\[|\]$/g, ''), { all: true })).map((a) => ({ host: a.address, port: t.port }));
  } catch {
    return `the host name ${t.host} does not resolve`;
  }
}

/**
 * Resolves when at least one address accepts a TCP connection; otherwise throws DaemonUnreachableError with the line
 * to print. `source` is where the address came from: "--daemon" or "ANIMATE_DAEMON_ADDRESS".
 */
export async function assertDaemonReachable(address: string, source: string, options: ReachOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? REACH_DEFAULTS.timeoutMs;
  const endpoints = await endpointsOf(address);
  const problems = typeof endpoints === 'string' ? [endpoints] : await Promise.all(endpoints.map((e) => connectProblem(e, timeoutMs)));
  if (problems.length === 0 || problems.some((p) => p === undefined)) return;
  const why = [...new Set(problems)].join('; ');
  const parsed = parseDaemonTarget(address);
  const where = 'target' in parsed ? describeDaemonTarget(parsed.target) : address;
  throw new DaemonUnreachableError(ClientCallCode.DaemonUnreachable, `cannot reach ${where} (${source}): ${why}. ${DAEMON_UNREACHABLE_HINT} ${IN_PROCESS_NOTE}`);
}
