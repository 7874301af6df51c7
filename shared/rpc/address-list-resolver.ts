// A grpc-js name resolver for a comma-separated list of HOST:PORT gateways (ANIMATE_DAEMON_ADDRESS=a:50051,b:50051).
// grpc-js's own ipv4:/ipv6: schemes take lists of IP literals of one family only, and its dns: scheme one name; a
// list of host names (localhost:50051,localhost:50052, gw1.lan:50051,gw2.lan:50051) needs this. Each entry is one
// endpoint with every address its host resolves to, so round_robin counts gateways, not IP addresses, and a host with
// both ::1 and 127.0.0.1 is tried address by address like a single HOST:PORT is.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { parseHostPort } from '../wire/address.ts';

/** The target scheme: `animate-list:HOST:PORT,HOST:PORT,…` (the channel target connectAnimator builds for a list). */
export const ADDRESS_LIST_SCHEME = 'animate-list';

/**
 * Shortest time between two resolutions. grpc-js asks again whenever a connection fails; a gateway that is down must
 * not turn into a DNS query storm, and a gateway that moved is still found within about this long.
 */
export const MIN_RESOLUTION_GAP_MS = 2_000;

type Entry = { host: string; port: number; label: string };

/** The entries of a list target's path (already checked by parseDaemonTarget; a bad one here is a programming error). */
function entriesOf(path: string): Entry[] {
  return path.split(',').map((part) => {
    const hp = parseHostPort(part.trim());
    if (!hp) throw new TypeError(`${ADDRESS_LIST_SCHEME}: "${part}" is not HOST:PORT`);
    // dns.lookup and grpc-js's subchannel addresses take IPv6 without the brackets.
    return { host: hp.host.replace(/^\[(.*)\]$/, '$1'), port: hp.port, label: part.trim() };
  });
}

async function resolveEntry(entry: Entry): Promise<grpc.experimental.Endpoint> {
  if (isIP(entry.host)) return { addresses: [{ host: entry.host, port: entry.port }] };
  const found = await lookup(entry.host, { all: true });
  return { addresses: found.map((a) => ({ host: a.address, port: entry.port })) };
}

class AddressListResolver implements grpc.experimental.Resolver {
  private readonly entries: Entry[];
  private inFlight = false;
  private again = false;
  private lastStartedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by destroy(): a lookup that finishes after it reports nothing. */
  private generation = 0;

  constructor(
    target: grpc.experimental.GrpcUri,
    private readonly listener: grpc.experimental.ResolverListener,
  ) {
    this.entries = entriesOf(target.path);
  }

  updateResolution(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = this.lastStartedAt + MIN_RESOLUTION_GAP_MS - Date.now();
    if (wait <= 0) {
      void this.resolve();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.resolve();
    }, wait);
    this.timer.unref();
  }

  destroy(): void {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight = false;
    this.again = false;
    this.lastStartedAt = -Infinity;
  }

  private async resolve(): Promise<void> {
    const generation = this.generation;
    this.inFlight = true;
    this.lastStartedAt = Date.now();
    // Always asynchronous (grpc-js must not hear back from within updateResolution), even for IP literals.
    const settled = await Promise.allSettled(this.entries.map((e) => resolveEntry(e)));
    if (generation !== this.generation) return;
    this.inFlight = false;
    const endpoints: grpc.experimental.Endpoint[] = [];
    const failed: string[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled' && s.value.addresses.length > 0) endpoints.push(s.value);
      else failed.push(this.entries[i]!.label);
    });
    // One gateway whose name does not resolve leaves the others usable; the note says which, for failure messages.
    const note = failed.length ? `${failed.join(', ')} did not resolve` : '';
    if (endpoints.length === 0) {
      this.listener(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: `none of the gateways resolved (${note})` }), {}, null, note);
    } else {
      this.listener(grpc.experimental.statusOrFromValue(endpoints), {}, null, note);
    }
    if (this.again) {
      this.again = false;
      this.updateResolution();
    }
  }

  /** The authority (and the TLS name when none is given): the first entry's, as grpc-js's ipv4:/ipv6: lists do. */
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return target.path.split(',')[0]!.trim();
  }
}

let registered = false;

/** Registers the scheme with grpc-js once per process (connectAnimator calls it before dialling a list). */
export function registerAddressListResolver(): void {
  if (registered) return;
  grpc.experimental.registerResolver(ADDRESS_LIST_SCHEME, AddressListResolver);
  registered = true;
}
