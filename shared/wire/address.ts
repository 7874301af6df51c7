// Where the daemon is reached: the default address and the one HOST:PORT rule, for the daemon's --listen, the
// settings table (ANIMATE_LISTEN, ANIMATE_DAEMON_ADDRESS) and every client. Written once so that what one side accepts
// the other can dial. A client address may also name several gateways (the address-list rule, below).
import { CodedError } from '../errors.ts';

/** The daemon's default gRPC address: loopback only (no token or TLS needed there). */
export const DEFAULT_DAEMON_ADDRESS = '127.0.0.1:50051';

/** HOST:PORT: a name or IPv4 address, or a bracketed IPv6 address, then a port of 1 to 5 digits. */
export const HOST_PORT_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export const MAX_PORT = 65535;

/** How the rule is described in messages. */
export const HOST_PORT_HINT = `HOST:PORT, e.g. ${DEFAULT_DAEMON_ADDRESS}`;

/** Host and port of a HOST:PORT string (brackets kept on IPv6), or undefined when it breaks the rule. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = HOST_PORT_PATTERN.exec(value);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port <= MAX_PORT ? { host: m[1]!, port } : undefined;
}

export function isHostPort(value: string): boolean {
  return parseHostPort(value) !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// The address-list rule: where a CLIENT reaches the daemon (ANIMATE_DAEMON_ADDRESS, the CLI's --daemon, connectAnimator).
// Besides one HOST:PORT it takes several gateways of one cluster, as a comma-separated list or as a dns:/// name that
// resolves to many addresses; the client spreads calls over them (shared/rpc/client.ts). The daemon's --listen stays
// the plain HOST:PORT rule above.

/** The prefix of a DNS name whose every address is a gateway (gRPC's own scheme, with no DNS server authority). */
export const DNS_TARGET_PREFIX = 'dns:///';

/** What a client address may be, for `accepts` columns and messages. */
export const DAEMON_ADDRESS_FORMS = 'HOST:PORT, a comma-separated list of HOST:PORT (several gateways), or dns:///HOST:PORT (every address the name resolves to)';

/** Where a client connects: one daemon, a list of gateways, or a DNS name standing for gateways. */
export type DaemonTarget =
  | { kind: 'single'; address: string }
  | { kind: 'list'; entries: Array<{ host: string; port: number }> }
  | { kind: 'dns'; host: string; port: number };

/**
 * Parses a client address. `{ problem }` is a phrase to put after the setting's name ("must be HOST:PORT, …"); the
 * caller adds the name, the value and DAEMON_ADDRESS_FORMS, so the variable, the flag and the function each name
 * themselves in one shape: `NAME <problem> (got "VALUE"); accepts <forms>.`
 */
export function parseDaemonTarget(raw: string): { target: DaemonTarget } | { problem: string } {
  const value = raw.trim();
  if (value === '') return { problem: 'must not be empty' };
  if (/^dns:/i.test(value)) {
    if (value.includes(',')) return { problem: `mixes a dns:/// name with a list: a dns:/// name stands alone (its addresses are the list); list HOST:PORT entries without dns:///` };
    if (!value.startsWith(DNS_TARGET_PREFIX)) return { problem: `must be written dns:///HOST:PORT (three slashes: no DNS server may be named)` };
    const hp = parseHostPort(value.slice(DNS_TARGET_PREFIX.length));
    if (!hp) return { problem: `must be dns:///HOST:PORT with a port from 0 to ${MAX_PORT}, e.g. dns:///gateways.internal:50051` };
    return { target: { kind: 'dns', host: hp.host, port: hp.port } };
  }
  if (!value.includes(',')) {
    if (!HOST_PORT_PATTERN.test(value)) return { problem: `must be ${HOST_PORT_HINT}` };
    if (!parseHostPort(value)) return { problem: `must be HOST:PORT with a port from 0 to ${MAX_PORT}` };
    return { target: { kind: 'single', address: value } };
  }
  const parts = value.split(',').map((p) => p.trim());
  const entries: Array<{ host: string; port: number }> = [];
  const seen = new Set<string>();
  for (const [i, part] of parts.entries()) {
    const which = `entry ${i + 1} of ${parts.length}`;
    if (part === '') return { problem: `has an empty ${which} (a stray comma); each entry must be HOST:PORT` };
    if (/^dns:/i.test(part)) return { problem: `mixes a dns:/// name with a list (${which}): a dns:/// name stands alone` };
    if (!HOST_PORT_PATTERN.test(part)) return { problem: `${which} (${JSON.stringify(part)}) must be ${HOST_PORT_HINT}` };
    const hp = parseHostPort(part);
    if (!hp) return { problem: `${which} (${JSON.stringify(part)}) has a port above ${MAX_PORT}` };
    const key = `${hp.host.toLowerCase()}:${hp.port}`;
    if (seen.has(key)) return { problem: `lists ${part} twice; each gateway once` };
    seen.add(key);
    entries.push(hp);
  }
  return { target: { kind: 'list', entries } };
}

/** A short name for a target in messages: a long list shows its first entries and how many more there are. */
export function describeDaemonTarget(target: DaemonTarget, shown = 3): string {
  if (target.kind === 'single') return `the daemon at ${target.address}`;
  if (target.kind === 'dns') return `the gateways at ${DNS_TARGET_PREFIX}${target.host}:${target.port}`;
  const names = target.entries.map((e) => `${e.host}:${e.port}`);
  const more = names.length - shown;
  return `the gateways at ${names.slice(0, shown).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** A client address that breaks the address-list rule; the message names the setting (or flag) and what it accepts. */
export class DaemonAddressError extends CodedError<'INVALID_DAEMON_ADDRESS'> {
  constructor(message: string) {
    super('INVALID_DAEMON_ADDRESS', message);
  }
}

/** The message for a bad client address, in the settings table's shape: `NAME <problem> (got "VALUE"); accepts …`. */
export function daemonAddressMessage(name: string, value: string, problem: string): string {
  return `${name} ${problem} (got ${JSON.stringify(value)}); accepts ${DAEMON_ADDRESS_FORMS}.`;
}

/** parseDaemonTarget, throwing DaemonAddressError naming `name` (the variable, flag or parameter) when it is bad. */
export function daemonTargetOf(name: string, value: string): DaemonTarget {
  const parsed = parseDaemonTarget(value);
  if ('problem' in parsed) throw new DaemonAddressError(daemonAddressMessage(name, value, parsed.problem));
  return parsed.target;
}
