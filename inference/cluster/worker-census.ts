// Who is working in the cluster: each worker beats every HEARTBEAT_MS (its id, its slots, how many are busy), and
// anyone can count the live ones. Gateways need it for ETAs and for the `animate_workers` metric; the mean job time
// kept beside it (an exponential average written by the workers) turns a place in line into seconds.
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';

export const HEARTBEAT_MS = 2000;
/** A worker whose last beat is older than this is not counted. */
export const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_MS;
/** The job time assumed before any job has finished (s). */
export const INITIAL_JOB_SECONDS = 3;

export interface Census {
  workers: number;
  slots: number;
  busy: number;
}

export class WorkerHeartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    readonly workerId: string,
    private readonly slots: number,
    private readonly busy: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const beat = () => void this.beat().catch(() => {}); // Redis away: the next beat tries again
    beat();
    this.timer = setInterval(beat, HEARTBEAT_MS);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.keys.workers, this.now(), this.workerId)
      .hset(this.keys.worker(this.workerId), 'slots', this.slots, 'busy', this.busy())
      .pexpire(this.keys.worker(this.workerId), HEARTBEAT_STALE_MS)
      .exec();
  }

  /** Leaves the census at once (a clean shutdown), instead of going stale. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.multi().zrem(this.keys.workers, this.workerId).del(this.keys.worker(this.workerId)).exec().catch(() => {});
  }
}

export async function readCensus(redis: Redis, keys: ClusterKeys, now = Date.now()): Promise<Census> {
  await redis.zremrangebyscore(keys.workers, '-inf', now - HEARTBEAT_STALE_MS);
  const ids = await redis.zrange(keys.workers, 0, -1);
  if (!ids.length) return { workers: 0, slots: 0, busy: 0 };
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.worker(id), 'slots', 'busy');
  const rows = (await pipeline.exec()) ?? [];
  let slots = 0;
  let busy = 0;
  for (const [err, value] of rows) {
    if (err) continue;
    const [s, b] = value as [string | null, string | null];
    slots += Number(s ?? 0);
    busy += Number(b ?? 0);
  }
  return { workers: ids.length, slots, busy };
}

// EWMA in one step, so two workers finishing together both count.
const RECORD_JOB_SECONDS = `
local old = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
redis.call('SET', KEYS[1], old * 0.7 + tonumber(ARGV[1]) * 0.3)
return 1
`;

export async function recordJobSeconds(redis: Redis, keys: ClusterKeys, seconds: number): Promise<void> {
  await redis.eval(RECORD_JOB_SECONDS, 1, keys.jobSeconds, seconds);
}

export async function readJobSeconds(redis: Redis, keys: ClusterKeys): Promise<number> {
  const v = Number(await redis.get(keys.jobSeconds));
  return Number.isFinite(v) && v > 0 ? v : INITIAL_JOB_SECONDS;
}
