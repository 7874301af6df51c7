// Reads the playground's Server-Sent-Events stream (GET /events?session=…) the way its page does, for the tests that
// drive a real playground over HTTP: one place parses the SSE `data:` blocks into page events.
import http from 'node:http';

/** One page event as the playground sends it, stamped with the time it arrived here. */
export type PageEvent = Record<string, unknown> & { type: string; at: number };

export interface PageEventStream {
  /** Every page event received so far, in order. */
  events: PageEvent[];
  /** Resolves with the first event (already received or still to come) matching `pred`; rejects after `ms` without one. */
  until(pred: (e: PageEvent) => boolean, ms?: number): Promise<PageEvent>;
  /**
   * Resolves with an error when the stream can bring no more events: the request failed, the response was not 200
   * (the error names the status and the body), or the response ended (or broke off) without close() having been
   * called. Never rejects; pending while the stream is open.
   */
  failed: Promise<Error>;
  /** Ends the stream; no event is collected after this. */
  close(): void;
}

/** Follows one playground session's SSE stream, collecting its page events with their arrival time. */
export function followPageEvents(url: string): PageEventStream {
  const events: PageEvent[] = [];
  const waiters: Array<{ pred: (e: PageEvent) => boolean; resolve: (e: PageEvent) => void }> = [];
  let closed = false;
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const req = http.get(url, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    if (res.statusCode !== 200) {
      let body = '';
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => fail(new Error(`GET ${url} answered ${res.statusCode}: ${body.slice(0, 500)}`)));
      res.on('error', (err) => fail(err));
      return;
    }
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let cut;
      while (!closed && (cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const event = { ...JSON.parse(data.slice(6)), at: Date.now() } as PageEvent;
        events.push(event);
        for (const w of [...waiters]) if (w.pred(event)) waiters.splice(waiters.indexOf(w), 1), w.resolve(event);
      }
    });
    const ended = (how: string) => {
      if (!closed) fail(new Error(`GET ${url}: the event stream ${how} after ${events.length} events (${events.map((e) => e.type).join(', ')})`));
    };
    res.on('end', () => ended('ended'));
    res.on('error', (err) => (closed ? undefined : fail(err)));
    res.on('close', () => ended('broke off'));
  });
  req.on('error', (err) => fail(err));
  return {
    events,
    until(pred, ms = 60_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = Number.isFinite(ms)
          ? setTimeout(() => reject(new Error(`no such page event within ${ms} ms; got ${events.map((e) => e.type).join(', ')}`)), ms)
          : undefined;
        waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    failed,
    close() {
      closed = true;
      req.destroy();
    },
  };
}

/**
 * Reads SSE page events until `until` says stop (no time limit of its own); rejects if the request fails, the response
 * is not 200, or the stream ends before an event matched `until`.
 */
export async function readEvents(url: string, until: (e: PageEvent) => boolean): Promise<PageEvent[]> {
  const stream = followPageEvents(url);
  try {
    await Promise.race([
      stream.until(until, Infinity),
      stream.failed.then((err) => {
        // The matching event may have been the stream's last: that is a success, not an early end.
        if (stream.events.some(until)) return;
        throw err;
      }),
    ]);
    return stream.events;
  } finally {
    stream.close();
  }
}
