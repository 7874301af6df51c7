// Where the daemon is reached: the default address and the one HOST:PORT rule, for the daemon's --listen, the
// settings table (ANIMATE_LISTEN, ANIMATE_DAEMON_ADDRESS) and every client. Written once so that what one side accepts
// the other can dial.

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
