// The cluster's connections to its Redis: checked once at start-up (reachable, version 6.2 or newer, as BullMQ needs),
// then one command connection that fails fast while Redis is away (so a call is refused at once, not parked), and
// dedicated connections for what blocks (XREAD, BullMQ's workers) or subscribes. ioredis reconnects by itself; this
// file tells the daemon when the queue is reachable and when it is not.
import { Redis, type RedisOptions } from 'ioredis';
import { QueueUnavailableError } from '../errors.ts';

/** Where the URL comes from, for messages: the flag and the variable. */
export const QUEUE_URL_SOURCE = '--queue (ANIMATE_QUEUE_URL)';
/** The oldest Redis BullMQ works with. */
export const MIN_REDIS_VERSION = [6, 2] as const;
/** How long start-up waits for Redis to answer (ms). */
export const CONNECT_TIMEOUT_MS = 5000;

/** The URL with its password masked, for logs and messages. */
export function maskQueueUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}

function optionsFor(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) || 0 : 0,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Reconnect for ever, backing off to a second between tries: a restarted Redis is found again soon.
    retryStrategy: (times) => Math.min(100 * times, 1000),
  };
}

/** Start-up check: Redis answers at `url` and is new enough. Throws QueueUnavailableError naming the setting. */
export async function checkQueueReachable(url: string): Promise<void> {
  const probe = new Redis({ ...optionsFor(url), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  probe.on('error', () => {}); // the failure is reported below, once
  try {
    await probe.connect();
    const info = await probe.info('server');
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    const [major, minor] = version ? [Number(version[1]), Number(version[2])] : [0, 0];
    if (major < MIN_REDIS_VERSION[0] || (major === MIN_REDIS_VERSION[0] && minor < MIN_REDIS_VERSION[1]))
      throw new QueueUnavailableError(`the Redis at ${maskQueueUrl(url)} (${QUEUE_URL_SOURCE}) is version ${major}.${minor}; the queue needs ${MIN_REDIS_VERSION.join('.')} or newer`);
  } catch (err) {
    if (err instanceof QueueUnavailableError) throw err;
    throw new QueueUnavailableError(`cannot reach the queue's Redis at ${maskQueueUrl(url)} (${QUEUE_URL_SOURCE}): ${(err as Error).message.replace(/\.+$/, "")}. Start Redis there, or fix the URL`);
  } finally {
    probe.disconnect();
  }
}

export interface QueueLinkEvents {
  /** The command connection is ready again after being lost (or for the first time). */
  onUp(): void;
  /** It was lost; `why` for the log. */
  onDown(why: string): void;
}

/** The daemon's connections to the queue's Redis; all closed by close(). */
export class QueueLink {
  /** Commands; refused at once while Redis is away (enableOfflineQueue off), retried never. */
  readonly command: Redis;
  private readonly extra = new Set<Redis>();
  private up = false;

  constructor(readonly url: string, private readonly events: QueueLinkEvents) {
    this.command = new Redis({ ...optionsFor(url), enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.command.on('ready', () => this.markUp());
    this.command.on('error', (err: Error) => this.markDown(err.message));
    this.command.on('close', () => this.markDown('connection closed'));
    this.command.on('end', () => this.markDown('connection ended'));
  }

  /** True while commands can be sent. */
  get isUp(): boolean {
    return this.up && this.command.status === 'ready';
  }

  /** Resolves once the command connection is ready (start-up), or rejects after CONNECT_TIMEOUT_MS. */
  async ready(): Promise<void> {
    if (this.command.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QueueUnavailableError(`cannot reach the queue's Redis at ${maskQueueUrl(this.url)} (${QUEUE_URL_SOURCE}) within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      this.command.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** A connection of its own for blocking commands (XREAD) or BullMQ workers: commands wait for a reconnect. */
  dedicated(name: string): Redis {
    const connection = new Redis({ ...optionsFor(this.url), maxRetriesPerRequest: null, connectionName: name });
    connection.on('error', () => {}); // the command connection reports the link's state; this one just reconnects
    this.extra.add(connection);
    return connection;
  }

  async close(): Promise<void> {
    for (const c of [this.command, ...this.extra]) c.disconnect();
    this.extra.clear();
  }

  private markUp(): void {
    if (this.up) return;
    this.up = true;
    this.events.onUp();
  }

  private markDown(why: string): void {
    if (!this.up) return;
    this.up = false;
    this.events.onDown(why);
  }
}
