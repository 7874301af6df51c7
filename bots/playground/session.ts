// A browser session: an append-only log of events for its page, replayed on (re)connect, pushed live over SSE.
import type { ServerResponse } from 'node:http';

/** What the page renders; `bubble` is one job's message, `thread` groups a request with its follow-ups. */
export type PageEvent =
  | { type: 'user'; thread: string; text: string }
  | { type: 'notice'; thread?: string | undefined; text: string; level: 'info' | 'error' }
  | { type: 'accepted'; thread: string; bubble: string; label?: string | undefined; jobId: string; prompt: string; derivedFrom?: unknown; variant?: unknown }
  | { type: 'queued'; bubble: string; position: number; etaSeconds: number }
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

  constructor(
    readonly id: string,
    private readonly maxEvents = 2000,
  ) {}

  newThreadId(): string {
    return `pg-${this.id}-t${this.nextThread++}`;
  }

  newBubbleId(): string {
    return `b${this.nextBubble++}`;
  }

  emit(event: PageEvent): void {
    const entry = { id: this.nextId++, event };
    this.log.push(entry);
    if (this.log.length > this.maxEvents) this.log.splice(0, this.log.length - this.maxEvents);
    for (const client of this.clients) write(client, entry);
  }

  /** Attaches an SSE response; replays events after `lastEventId`. */
  attach(res: ServerResponse, lastEventId: number): void {
    for (const entry of this.log) if (entry.id > lastEventId) write(res, entry);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
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
