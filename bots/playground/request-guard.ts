// Who may talk to the playground. It runs on the person's own machine and starts jobs there, so any web page open
// in the same browser is a potential caller: a cross-site page can POST a text/plain body or a form (CSRF), and a
// DNS-rebinding page (evil.example resolving to 127.0.0.1) can even read the answers. This module decides, from the
// request's headers alone and before any body is read, whether a request comes from the playground's own page on a
// name that really is this machine; the server refuses everything else with 403 and the reason.
//
// The rules, and why each one:
// - Host must be one of this playground's names with its port (loopback names, plus PLAYGROUND_HOST when it is
//   another interface). A rebinding page's requests carry the attacker's host name, so this stops them on every
//   route, reads included.
// - Origin, when present, must be the playground's own origin (http + the Host). Browsers send it on every POST and
//   on cross-origin reads (fetch, EventSource), so a page on another origin, even another port of 127.0.0.1 (which
//   is "same-site"), is refused. Requests without Origin (curl, the CLI, tests) pass the other rules.
// - Sec-Fetch-Site, when present, must be same-origin or none (typed into the address bar); cross-site and
//   same-site mean another page asked. The one exception: a top-level navigation to the page itself, so a link
//   to the playground still opens it.
// - Writes must be Content-Type application/json. A cross-site page cannot send that without a CORS preflight,
//   and preflights (OPTIONS) are always refused without any Access-Control-Allow-* header.
import type { IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import { CodedError } from '../../shared/errors.ts';

/** Stable UPPER_SNAKE codes for refusals (as every CodedError's), sent in the 403 body next to the message. */
export const RefusalCode = {
  /** The Host header is not one of this playground's names and port (DNS rebinding, or a wrong address). */
  ForeignHost: 'FOREIGN_HOST',
  /** The Origin header names another origin than the playground's own. */
  ForeignOrigin: 'FOREIGN_ORIGIN',
  /** Sec-Fetch-Site says another site (or another origin of the same site) made the request. */
  CrossSite: 'CROSS_SITE',
  /** A write whose Content-Type is not application/json. */
  NotJson: 'NOT_JSON',
  /** A CORS preflight (OPTIONS): the playground never allows cross-origin requests. */
  PreflightRefused: 'PREFLIGHT_REFUSED',
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/** A refused request: a CodedError (shared/errors.ts) with the HTTP status it is answered with. */
export class Refusal extends CodedError<RefusalCode> {
  readonly status = 403 as const;
}

/**
 * What a route does, which decides the rules it gets:
 * `page` the static page and its assets; `read` data (SSE events, media, health); `write` POSTs and other
 * state-changing methods; `preflight` OPTIONS.
 */
export type RouteKind = 'page' | 'read' | 'write' | 'preflight';

export interface RequestGuardOptions {
  /** The port the playground is bound to (the real one, after listen). */
  port: number;
  /** The interface it listens on (PLAYGROUND_HOST). Default 127.0.0.1. A wildcard (0.0.0.0, ::) allows this machine's interface addresses. */
  listenHost?: string;
  /** This machine's interface addresses, for a wildcard listenHost. Default: the addresses of os.networkInterfaces(). */
  interfaceAddresses?: () => readonly string[];
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);
/** How much of a hostile header value a refusal message quotes. */
const MAX_QUOTED = 80;

export class RequestGuard {
  /** Accepted Host header values, lower case, each with the port as a browser writes it. */
  readonly hosts: ReadonlySet<string>;

  constructor(options: RequestGuardOptions) {
    const port = options.port;
    const names = new Set<string>(LOOPBACK_NAMES);
    const listen = (options.listenHost ?? '127.0.0.1').trim().toLowerCase();
    if (WILDCARDS.has(listen)) for (const address of (options.interfaceAddresses ?? localAddresses)()) names.add(hostName(address));
    else names.add(hostName(listen));
    // A browser leaves the default port out of Host and Origin; anything else carries it.
    this.hosts = new Set([...names].map((name) => (port === 80 ? name : `${name}:${port}`)));
  }

  /** The refusal for this request, or undefined when it may proceed. Looks at headers only. */
  check(method: string, headers: IncomingHttpHeaders, kind: RouteKind): Refusal | undefined {
    if (kind === 'preflight') return refuse(RefusalCode.PreflightRefused, 'The playground does not allow cross-origin requests (no CORS): send requests from its own page.');
    const host = (headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host)) {
      const said = host ? `Host "${quote(host)}"` : 'A request without a Host header';
      return refuse(RefusalCode.ForeignHost, `${said} is not this playground: it answers only to ${[...this.hosts].join(', ')}. To serve another name, set PLAYGROUND_HOST to it.`);
    }
    const own = `http://${host}`;
    const origin = headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== own) return refuse(RefusalCode.ForeignOrigin, `Requests from origin "${quote(origin)}" are refused: the playground accepts only its own page (${own}).`);
    const site = header(headers, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none' && !isNavigationToPage(method, headers, kind)) {
      return refuse(RefusalCode.CrossSite, `Requests made by another site are refused (Sec-Fetch-Site: ${quote(site)}): open the playground at ${own}.`);
    }
    if (kind === 'write') {
      const type = header(headers, 'content-type') ?? '';
      if (mediaType(type) !== 'application/json') return refuse(RefusalCode.NotJson, `Content-Type must be application/json (got ${type ? `"${quote(type)}"` : 'none'}).`);
    }
    return undefined;
  }
}

/** "application/json; charset=utf-8" → "application/json". */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

// Someone following a link to the playground from another site gets the page (it starts nothing by itself);
// frames are not navigations of a document here, and the page forbids framing anyway.
function isNavigationToPage(method: string, headers: IncomingHttpHeaders, kind: RouteKind): boolean {
  return kind === 'page' && (method === 'GET' || method === 'HEAD') && header(headers, 'sec-fetch-mode') === 'navigate' && header(headers, 'sec-fetch-dest') === 'document';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value.join(',') : value)?.trim().toLowerCase();
}

/** An address or name as it appears in a Host header: IPv6 literals in brackets, zone ids dropped. */
function hostName(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  return bare.includes(':') ? `[${bare}]` : bare;
}

function localAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

function quote(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_QUOTED ? `${printable.slice(0, MAX_QUOTED)}…` : printable;
}

function refuse(code: RefusalCode, message: string): Refusal {
  return new Refusal(code, message);
}
