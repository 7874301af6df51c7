// Who may talk to the daemon, and over what: the shared-secret token check (constant time, so the time a wrong
// guess takes says nothing about how much of it was right), the server's TLS credentials (mutual TLS when a
// client CA is given), and the server options that accept the clients' keepalive pings.
import * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { checkKeyPair, parseCertificate } from '../../shared/config/transport.ts';
import { InvalidArgumentError, UnauthenticatedError } from '../errors.ts';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Throws UnauthenticatedError unless `metadata` carries `authorization: Bearer <token>`. Both sides are hashed
 * first, so timingSafeEqual compares equal-length digests whatever the length of what was sent.
 */
export function checkAuth(token: string | undefined, metadata: grpc.Metadata): void {
  if (!token) return;
  const header = metadata.get('authorization')[0];
  if (header === undefined) throw new UnauthenticatedError('this daemon requires a token: send metadata "authorization: Bearer <ANIMATE_TOKEN>"');
  const sent = typeof header === 'string' ? header : header.toString('utf8');
  if (!timingSafeEqual(digest(sent), digest(`Bearer ${token}`))) throw new UnauthenticatedError('the token in "authorization" is not the one this daemon was started with');
}

/** PEM contents (not paths) the daemon serves TLS with. */
export interface ServerTlsOptions {
  /** The daemon's certificate (chain), PEM. */
  cert: Buffer | string;
  /** Its private key, PEM, unencrypted. */
  key: Buffer | string;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  clientCa?: Buffer | string | undefined;
}

const asBuffer = (v: Buffer | string): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v));

/** Insecure credentials without `tls`; TLS (mutual with `clientCa`) with it. Throws InvalidArgumentError naming the bad part. */
export function serverCredentials(tls: ServerTlsOptions | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const problems: string[] = [];
  checkKeyPair(tls.cert, tls.key, { cert: 'tls.cert', key: 'tls.key' }, problems);
  if (tls.clientCa !== undefined) parseCertificate(tls.clientCa, 'tls.clientCa', problems);
  if (problems.length) throw new InvalidArgumentError('tls', problems.join(' '));
  const clientCa = tls.clientCa === undefined ? null : asBuffer(tls.clientCa);
  return grpc.ServerCredentials.createSsl(clientCa, [{ cert_chain: asBuffer(tls.cert), private_key: asBuffer(tls.key) }], clientCa !== null);
}

/**
 * Server options that let clients ping as shared/rpc/client.ts does (every 10 s by default, idle or not) without
 * being told to go away. grpc-js 1.14's server enforces no ping policy of its own (its server.js only sends its
 * own keepalives; no ping strikes, no too_many_pings GOAWAY), so these state the policy for any gRPC server
 * built on gRPC core's option names: pings allowed without calls, at any interval, with no strikes counted.
 */
export const PERMIT_CLIENT_KEEPALIVE: grpc.ServerOptions = {
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 0,
  'grpc.http2.max_ping_strikes': 0,
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/i;

/** True when `host` (from HOST:PORT) is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}
