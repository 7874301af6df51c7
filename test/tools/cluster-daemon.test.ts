// The cluster bench's process handle (tools/cluster/cluster-daemon.ts): a real daemon process started by its command
// line on a local Redis, found by its ready line, its CPU time read from /proc (how the bench tells the busy worker),
// and a start-up failure reported with the daemon's own words instead of a hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterDaemonError, startClusterDaemon } from '../../tools/cluster/cluster-daemon.ts';
import { startLocalRedis, type LocalRedis } from '../../tools/cluster/local-redis.ts';

let redis: LocalRedis;
beforeAll(async () => {
  redis = await startLocalRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('startClusterDaemon', () => {
  it('starts a gateway process on the queue, reads its CPU time, and kill9() ends it', async () => {
    const gateway = await startClusterDaemon({ role: 'gateway', queueUrl: redis.url, modelsDir: 'models', model: 'tiny-world' });
    try {
      expect(gateway.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(gateway.alive()).toBe(true);
      const cpu = gateway.cpuSeconds();
      process.stdout.write(`cluster-daemon: gateway pid ${gateway.pid} used ${cpu.toFixed(2)} CPU s to start\n`);
      expect(cpu).toBeGreaterThan(0); // loading tsx and the model package takes CPU
    } finally {
      await gateway.kill9();
    }
    expect(gateway.alive()).toBe(false);
    expect(gateway.cpuSeconds()).toBeNaN();
  });

  it('reports a daemon that exits during start-up with its output', async () => {
    const error = await startClusterDaemon({ role: 'worker', queueUrl: 'ftp://127.0.0.1:1', modelsDir: 'models', model: 'tiny-world', readyTimeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterDaemonError);
    expect((error as ClusterDaemonError).code).toBe('CLUSTER_DAEMON_START_FAILED');
    // The daemon's own message names the setting: the handle passes it on.
    expect((error as Error).message).toMatch(/ANIMATE_QUEUE_URL|--queue/);
  });
});
