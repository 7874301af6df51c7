// The Prometheus endpoint as a plain node:http server (GET /metrics, GET /healthz), apart from gRPC, because Prometheus
// scrapes HTTP and load balancers probe /healthz over HTTP. One server for every process of the product: the daemon
// (--metrics-listen, through inference/metrics/server.ts), `npm start` (daemon and bots merged, app/metrics.ts) and
// the standalone bots (bots/core/standalone.ts); it lives in shared/ since bots/ may not import inference/.
//   GET /metrics  the text exposition (prom-client's Content-Type)
//   GET /healthz  200 "ok" while the injected check says healthy, 503 otherwise
//   other paths 404, other methods 405 (with Allow: GET)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOST_PORT_HINT, parseHostPort } from '../wire/address.ts';
import { listenError } from '../listen-error.ts';
import { CodedError } from '../errors.ts';

/** An address that is not HOST:PORT (the settings check it first; this guards direct callers). */
export class MetricsListenInvalidError extends CodedError<'INVALID_ARGUMENT'> {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** What is served on /metrics (a DaemonMetrics). */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServerOptions {
  /** HOST:PORT to listen on; port 0 picks a free one. */
  listen: string;
  metrics: MetricsSource;
  /** Whether /healthz answers 200 (true) or 503 (false or a failure). Default: always healthy. */
  healthy?: () => boolean | Promise<boolean>;
  /** Time a client has to send a request's headers, and a whole request, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** Requests served on one keep-alive connection before it is closed. Default 100. */
  maxRequestsPerSocket?: number;
}

const DEFAULTS = {
  healthy: () => true,
  requestTimeoutMs: 10_000,
  maxRequestsPerSocket: 100,
} satisfies Omit<Required<MetricsServerOptions>, 'listen' | 'metrics'>;

export interface RunningMetricsServer {
  /** HOST:PORT it listens on, with the real port. */
  address: string;
  port: number;
  /** Stops listening and closes its connections. */
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const hp = parseHostPort(options.listen);
  if (!hp) throw new MetricsListenInvalidError(`metricsListen: expected ${HOST_PORT_HINT} (got "${options.listen.slice(0, 100)}")`);
  const healthy = options.healthy ?? DEFAULTS.healthy;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;

  const server = http.createServer({ requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs }, (req, res) => {
    // A body is never read: rather than drain an unbounded upload, answer and close the connection.
    const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined;
    void answer(req, res, options.metrics, healthy, hasBody);
  });
  server.maxRequestsPerSocket = options.maxRequestsPerSocket ?? DEFAULTS.maxRequestsPerSocket;
  server.keepAliveTimeout = 5_000;

  const host = hp.host.startsWith('[') ? hp.host.slice(1, -1) : hp.host;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(listenError(options.listen, { variable: 'ANIMATE_METRICS_LISTEN', flag: '--metrics-listen' }, err));
    server.once('error', onError);
    server.listen(hp.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `${hp.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, metrics: MetricsSource, healthy: () => boolean | Promise<boolean>, closeAfter: boolean): Promise<void> {
  const send = (statusCode: number, body: string, headers: http.OutgoingHttpHeaders = {}) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(statusCode, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...(closeAfter ? { connection: 'close' } : {}), ...headers });
    res.end(body);
  };
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics' && path !== '/healthz') return send(404, 'not found: this server serves GET /metrics and GET /healthz\n');
  if (req.method !== 'GET') return send(405, `method ${req.method ?? '?'} not allowed: only GET\n`, { allow: 'GET' });
  try {
    if (path === '/healthz') {
      const ok = await Promise.resolve().then(healthy).catch(() => false);
      return send(ok ? 200 : 503, ok ? 'ok\n' : 'not serving\n');
    }
    const text = await metrics.text();
    send(200, text, { 'content-type': metrics.contentType });
  } catch (err) {
    send(500, `metrics could not be collected: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
