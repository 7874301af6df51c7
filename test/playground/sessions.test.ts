// The playground's session table is bounded: any caller can make up session ids, and each session keeps up to 2,000
// events. On a hand-driven clock: idle sessions without a page are dropped, and a new session past maxSessions evicts
// the least recently used one, preferring one no page is attached to.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_MS, SessionStore } from '../../bots/playground/session.ts';

/** Enough of a ServerResponse for an SSE client: write, end, and 'close'. */
function fakeStream(): ServerResponse & { ended: boolean } {
  const res = Object.assign(new EventEmitter(), {
    ended: false,
    write: () => true,
    end() {
      res.ended = true;
      res.emit('close');
    },
  });
  return res as unknown as ServerResponse & { ended: boolean };
}

function store(options: { maxSessions?: number; idleMs?: number } = {}) {
  let now = 1_000_000;
  const sessions = new SessionStore({ ...options, now: () => now });
  return { sessions, advance: (ms: number) => (now += ms) };
}

describe('SessionStore', () => {
  it('has documented defaults', () => {
    expect(DEFAULT_MAX_SESSIONS).toBe(64);
    expect(DEFAULT_SESSION_IDLE_MS).toBe(30 * 60_000);
  });

  it('gives back the same session for an id, and drops one idle (no page, no events) for idleMs', () => {
    const { sessions, advance } = store({ idleMs: 1000 });
    const a = sessions.get('aaaaaa');
    expect(sessions.get('aaaaaa')).toBe(a);
    sessions.get('bbbbbb');
    advance(600);
    a.emit({ type: 'notice', text: 'a job still reports', level: 'info' });
    advance(600);
    sessions.sweep();
    // b went quiet 1,200 ms ago; a had an event 600 ms ago.
    expect(sessions.has('bbbbbb')).toBe(false);
    expect(sessions.has('aaaaaa')).toBe(true);
  });

  it('never drops an idle session while a page is attached; idle time counts from when the page left', () => {
    const { sessions, advance } = store({ idleMs: 1000 });
    const stream = fakeStream();
    sessions.get('watched').attach(stream, 0);
    advance(5000);
    sessions.sweep();
    expect(sessions.has('watched')).toBe(true);
    stream.emit('close');
    advance(999);
    sessions.sweep();
    expect(sessions.has('watched')).toBe(true);
    advance(1);
    sessions.sweep();
    expect(sessions.has('watched')).toBe(false);
  });

  it('past maxSessions evicts the least recently used session without a page, else the oldest (ending its streams)', () => {
    const { sessions, advance } = store({ maxSessions: 3, idleMs: 60_000 });
    const stream = fakeStream();
    sessions.get('first1').attach(stream, 0);
    advance(1);
    sessions.get('second');
    advance(1);
    sessions.get('third3');
    advance(1);
    sessions.get('second'); // used again: third3 is now the least recently used without a page
    advance(1);
    sessions.get('fourth');
    expect([...sessions.values()].map((s) => s.id).sort()).toEqual(['first1', 'fourth', 'second']);
    expect(stream.ended).toBe(false);

    const { sessions: full } = store({ maxSessions: 1 });
    const only = fakeStream();
    full.get('watched').attach(only, 0);
    full.get('newone');
    expect(full.size).toBe(1);
    expect(full.has('newone')).toBe(true);
    expect(only.ended).toBe(true);
  });

  it('stays at maxSessions however many ids are made up', () => {
    const { sessions, advance } = store({ maxSessions: 5 });
    for (let i = 0; i < 200; i++) {
      sessions.get(`made-up-${i}`).emit({ type: 'user', thread: 't', text: 'x' });
      advance(1);
    }
    expect(sessions.size).toBe(5);
    expect(sessions.has('made-up-199')).toBe(true);
  });
});
