// The daemon's metrics endpoint (--metrics-listen HOST:PORT) is the product's one metrics server, which lives in
// shared/ so that the bots serve theirs with the same code.
export * from '../../shared/metrics/server.ts';
