// A browser session: an append-only log of events for its page, replayed on (re)connect, pushed live over SSE; and
// the bounded table of sessions the server keeps (SessionStore: idle ones dropped, the least recently used evicted).
import type { ServerResponse } from 'node:http';
import type { QueuePlace } from '../core/format.ts';

/** What the page renders; `bubble` is one job's message, `thread` groups a request with its follow-ups. */
export type PageEvent =
  | { type: 'user'; thread: string; text: string; /** The attached image's name, when the message carried one. */ image?: string }
  | { type: 'notice'; thread?: string | undefined; text: string; level: 'info' | 'error' }
  | { type: 'accepted'; thread: string; bubble: string; label?: string | undefined; jobId: string; prompt: string; derivedFrom?: unknown; variant?: unknown }
  /** `place`: bots/core/format.ts queuePlace (starting: nothing ahead; next: position 1 behind a running job). */
  | { type: 'queued'; bubble: string; position: number; etaSeconds: number; place: QueuePlace['kind'] }
  | { type: 'progress'; bubble: string; step: number; total: number; stage: string; etaSeconds: number }
  | { type: 'preview'; bubble: string; url: string; step: number; total: number }
  | { type: 'clip'; bubble: string; url: string; mimeType: string; info: Record<string, unknown> }
  | { type: 'fail'; thread: string; bubble: string; label?: string | undefined; message: string; code: string }
  | { type: 'cancelled'; bubble: string; by: string };

export class PlaygroundSession {
  private readonly log: Array<{ id: number; event: PageEvent }> = [];
  private readonly clients = new Set<ServerResponse>();
  private nextId = 1;
  private nextThread = 1;
  private nextBubble = 1;
  /** The thread that plain messages (without /animate) refine when the page names none. */
  latestThread: string | undefined;
  /** When it was last used: an event emitted (a job's progress too), a stream attached or left, a request for it. */
  lastActiveAt: number;

  constructor(
    readonly id: string,
    private readonly maxEvents = 2000,
    private readonly now: () => number = Date.now,
  ) {
    this.lastActiveAt = now();
  }

  touch(): void {
    this.lastActiveAt = this.now();
  }

  newThreadId(): string {
    return `pg-${this.id}-t${this.nextThread++}`;
  }

  newBubbleId(): string {
    return `b${this.nextBubble++}`;
  }

  emit(event: PageEvent): void {
    const entry = { id: this.nextId++, event };
    this.touch();
    this.log.push(entry);
    if (this.log.length > this.maxEvents) this.log.splice(0, this.log.length - this.maxEvents);
    for (const client of this.clients) write(client, entry);
  }

  /** Attaches an SSE response; replays events after `lastEventId`. */
  attach(res: ServerResponse, lastEventId: number): void {
    for (const entry of this.log) if (entry.id > lastEventId) write(res, entry);
    this.clients.add(res);
    this.touch();
    // Idle time counts from when the last page left, not from its last event.
    res.on('close', () => {
      this.clients.delete(res);
      this.touch();
    });
  }

  /** Ends every live stream (server shutdown). */
  closeAll(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  get clientCount(): number {
    return this.clients.size;
  }
}

function write(res: ServerResponse, entry: { id: number; event: PageEvent }): void {
  res.write(`id: ${entry.id}\nevent: page\ndata: ${JSON.stringify(entry.event)}\n\n`);
}

/** At most this many sessions are kept (each holds up to 2,000 events): a new one evicts the least recently used. */
export const DEFAULT_MAX_SESSIONS = 64;
/** A session with no page attached and no activity for this long is dropped (its page, if it comes back, starts anew). */
export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;

export interface SessionStoreOptions {
  /** Default DEFAULT_MAX_SESSIONS. */
  maxSessions?: number | undefined;
  /** Default DEFAULT_SESSION_IDLE_MS. */
  idleMs?: number | undefined;
  /** Events kept per session. Default 2,000. */
  maxEvents?: number | undefined;
  /** Milliseconds since the epoch. Default Date.now. */
  now?: (() => number) | undefined;
}

/**
 * The playground's sessions, bounded: ids come from the page (any caller may make up new ones), so without a bound
 * each new id would keep its event log forever. Idle sessions without a page are dropped whenever a session is looked
 * up; when a new one would exceed maxSessions, the least recently used goes, one without a page attached if any (else
 * its streams are ended: the page reconnects to a fresh session). A job still running keeps its session active (its
 * events touch it), so only a job whose session was evicted for room loses its updates.
 */
export class SessionStore {
  private readonly sessions = new Map<string, PlaygroundSession>();
  private readonly maxSessions: number;
  private readonly idleMs: number;
  private readonly maxEvents: number | undefined;
  private readonly now: () => number;

  constructor(options: SessionStoreOptions = {}) {
    this.maxSessions = Math.max(1, options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.maxEvents = options.maxEvents;
    this.now = options.now ?? Date.now;
  }

  /** The session with this id, made when there is none; marks it used. */
  get(id: string): PlaygroundSession {
    this.sweep();
    let session = this.sessions.get(id);
    if (session) {
      session.touch();
      return session;
    }
    while (this.sessions.size >= this.maxSessions) this.evictOne();
    session = new PlaygroundSession(id, this.maxEvents, this.now);
    this.sessions.set(id, session);
    return session;
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<PlaygroundSession> {
    return this.sessions.values();
  }

  /** Drops every session without a page attached that has been idle for idleMs. */
  sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) {
      if (session.clientCount === 0 && now - session.lastActiveAt >= this.idleMs) this.sessions.delete(id);
    }
  }

  private evictOne(): void {
    let victim: PlaygroundSession | undefined;
    for (const preferDetached of [true, false]) {
      for (const session of this.sessions.values()) {
        if (preferDetached && session.clientCount > 0) continue;
        if (!victim || session.lastActiveAt < victim.lastActiveAt) victim = session;
      }
      if (victim) break;
    }
    if (!victim) return;
    victim.closeAll();
    this.sessions.delete(victim.id);
  }
}
