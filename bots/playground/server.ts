// The local playground: node:http serving one static chat page, an SSE stream per browser session, a JSON API
// for messages and buttons, and media from a bounded in-memory cache. No build step, nothing from the network.
// Every request passes the RequestGuard first (own origin, loopback Host, JSON writes; see request-guard.ts), since
// any page open in the browser could otherwise start jobs on this machine.
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Requester } from '../core/adapter.ts';
import type { BotCore, JobAction } from '../core/bot.ts';
import { isBotError } from '../core/errors.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { listenError } from '../../shared/listen-error.ts';
import { EXAMPLE_COMMAND } from '../../shared/wire/examples.ts';
import { parseContinuation } from '../core/continuation.ts';
import { parseTextCommand } from '../core/options.ts';
import { unknownCommandMessage } from './commands.ts';
import { ImageFieldError, MAX_MESSAGE_WITH_IMAGE_BYTES, imageFromBody } from './image-upload.ts';
import { MediaCache } from './media-cache.ts';
import { RequestGuard, type RouteKind } from './request-guard.ts';
import { SessionStore, type PlaygroundSession } from './session.ts';
import { PlaygroundSurface } from './surface.ts';

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export interface PlaygroundOptions {
  core: BotCore;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Bytes of clips and previews kept in memory. Default 64 MiB. */
  maxMediaBytes?: number;
  /** Browser sessions kept at most (the least recently used goes first). Default DEFAULT_MAX_SESSIONS (64). */
  maxSessions?: number;
  /** A session with no page attached is dropped after this long without activity. Default DEFAULT_SESSION_IDLE_MS (30 min). */
  sessionIdleMs?: number;
  /** Milliseconds since the epoch, for session idle times. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export interface RunningPlayground {
  /** e.g. http://127.0.0.1:8787/ */
  url: string;
  port: number;
  media: MediaCache;
  close(): Promise<void>;
}

const ACTIONS = ['cancel', 'reroll', 'variations', 'refine', 'extend'] as const;
const SESSION_ID = /^[A-Za-z0-9_-]{6,64}$/;
const MAX_BODY = 64 * 1024;
/**
 * Sent on every response. nosniff: a cross-origin <script>/<style> cannot reinterpret our JSON; CORP same-origin:
 * Chromium refuses another origin's <img>/<video> embedding a clip; frame-ancestors: no page can frame the
 * playground to trick clicks. No Access-Control-Allow-* header is ever sent.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function routeKind(method: string, pathname: string): RouteKind {
  if (method === 'OPTIONS') return 'preflight';
  if (method !== 'GET' && method !== 'HEAD') return 'write';
  return STATIC[pathname] ? 'page' : 'read';
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage, max = MAX_BODY): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new HttpError(413, max === MAX_BODY ? `The message is too long (at most ${MAX_BODY} bytes).` : `The message and its image are too large (at most ${max} bytes).`);
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'The request body must be a JSON object.');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, 'cache-control': 'no-store' });
  res.end(data);
}

export async function startPlayground(options: PlaygroundOptions): Promise<RunningPlayground> {
  const { core } = options;
  const logger = options.logger ?? consoleLogger('[playground]');
  const media = new MediaCache(options.maxMediaBytes);
  const sessions = new SessionStore({ maxSessions: options.maxSessions, idleMs: options.sessionIdleMs, now: options.now });
  // Built on the first request, when the real port is known (port 0 picks one).
  let guard: RequestGuard | undefined;
  const guardFor = (): RequestGuard => (guard ??= new RequestGuard({ port: (server.address() as AddressInfo).port, listenHost: options.host ?? '127.0.0.1' }));
  let refused = 0;

  const sessionFor = (id: unknown): PlaygroundSession => {
    if (typeof id !== 'string' || !SESSION_ID.test(id)) throw new HttpError(400, 'session must be 6–64 characters of A–Z, a–z, 0–9, _ or -.');
    return sessions.get(id);
  };
  const requesterFor = (session: PlaygroundSession): Requester => ({
    platform: 'playground',
    userId: session.id,
    displayName: 'you',
    channelId: session.id,
    serverId: 'playground',
  });

  /** `receivedAt`: when the POST arrived, by the core's clock (before its body was read), for animate_bot_ack_seconds. */
  async function onMessage(body: Record<string, unknown>, receivedAt: number): Promise<unknown> {
    const session = sessionFor(body.session);
    const text = typeof body.text === 'string' ? body.text.trim() : '';
    let image;
    try {
      image = imageFromBody(body.image);
    } catch (err) {
      if (err instanceof ImageFieldError) throw new HttpError(400, err.message);
      throw err;
    }
    if (!text) throw new HttpError(400, image ? 'text is required: say what should happen in the clip, e.g. /animate the ball bounces.' : 'text is required.');
    const requester = requesterFor(session);
    const command = /^\/animate\b\s*/i.exec(text) ?? /^\/help\b/i.exec(text);
    // "/animat a blue star": a mistyped command is answered in a thread of its own, never taken as a prompt or as a
    // refinement of the thread's clip.
    const unknown = command ? undefined : unknownCommandMessage(text);
    if (unknown) {
      const thread = session.newThreadId();
      session.emit({ type: 'user', thread, text, ...(image ? { image: image.name ?? 'image' } : {}) });
      session.emit({ type: 'notice', thread, text: unknown, level: 'error' });
      return { ok: true, thread };
    }
    // A message with an image starts a clip from it (image-to-video), with or without /animate in front.
    if (image) {
      const args = command ? text.slice(command[0].length) : text;
      const thread = session.newThreadId();
      session.emit({ type: 'user', thread, text, image: image.name ?? 'image' });
      const surface = new PlaygroundSurface(session, media, thread);
      let parsed;
      try {
        parsed = parseTextCommand(args);
      } catch (err) {
        session.emit({ type: 'notice', thread, text: isBotError(err) ? err.message : 'Those options could not be read.', level: 'error' });
        return { ok: true, thread };
      }
      if (parsed.kind === 'help') {
        session.emit({ type: 'notice', thread, text: await core.help(), level: 'info' });
        return { ok: true, thread };
      }
      const result = await core.animate(surface, requester, { ...parsed.options, image }, { threadId: thread, receivedAt });
      if (result.jobs.length > 0) session.latestThread = thread;
      return { ok: true, thread };
    }
    if (command) {
      const args = /^\/help/i.test(text) ? 'help' : text.slice(command[0].length);
      const thread = session.newThreadId();
      session.emit({ type: 'user', thread, text });
      const surface = new PlaygroundSurface(session, media, thread);
      const result = await core.animateText(surface, requester, args, { threadId: thread, receivedAt });
      if (result.kind === 'help') session.emit({ type: 'notice', thread, text: result.text, level: 'info' });
      else if (result.jobs.length > 0) session.latestThread = thread;
      return { ok: true, thread };
    }
    // Anything else is a reply in a thread: it refines that thread's clip, or continues it ("and then …").
    const requested = typeof body.thread === 'string' && body.thread ? body.thread : undefined;
    const thread = requested ?? session.latestThread;
    if (!thread || !thread.startsWith(`pg-${session.id}-`)) {
      session.emit({ type: 'notice', text: `Start with /animate <prompt>, e.g. ${EXAMPLE_COMMAND} --seed 42. Then reply to refine it ("make it blue", "slower") or continue it ("and then it rolls away"). /animate help lists the options.`, level: 'info' });
      return { ok: true };
    }
    session.emit({ type: 'user', thread, text });
    const surface = new PlaygroundSurface(session, media, thread, `${parseContinuation(text) ? 'Continued' : 'Refined'}: “${text}”`);
    try {
      const result = await core.followUp(thread, text, requester, surface);
      if (!result) session.emit({ type: 'notice', thread, text: 'This thread has no clip to refine yet; wait for it or start a new /animate.', level: 'error' });
    } catch (err) {
      session.emit({ type: 'notice', thread, text: isBotError(err) ? err.message : 'Could not refine this clip.', level: 'error' });
    }
    return { ok: true, thread };
  }

  async function onAction(body: Record<string, unknown>): Promise<unknown> {
    const session = sessionFor(body.session);
    const kind = body.action;
    if (typeof kind !== 'string' || !(ACTIONS as readonly string[]).includes(kind)) throw new HttpError(400, `action must be one of ${ACTIONS.join(', ')}.`);
    if (typeof body.jobId !== 'string') throw new HttpError(400, 'jobId is required.');
    const job = core.jobs.get(body.jobId);
    const thread = job?.surface.threadId;
    let action: JobAction;
    if (kind === 'refine') {
      if (typeof body.prompt !== 'string' || !body.prompt.trim()) throw new HttpError(400, 'prompt is required to refine.');
      action = { kind: 'refine', prompt: body.prompt };
    } else if (kind === 'variations') action = { kind: 'variations' };
    else if (kind === 'extend') action = { kind: 'extend' };
    else action = { kind: kind as 'cancel' | 'reroll' };
    try {
      if (job && job.requester.userId !== session.id && kind !== 'cancel') throw new HttpError(403, 'That clip belongs to another session.');
      await core.action(body.jobId, action, requesterFor(session));
      return { ok: true };
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const message = isBotError(err) ? err.message : 'That did not work.';
      session.emit({ type: 'notice', thread, text: message, level: 'error' });
      return { ok: false, error: message };
    }
  }

  function serveMedia(req: IncomingMessage, res: ServerResponse, id: string): void {
    const item = media.get(id);
    if (!item) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('This clip is no longer in memory (the playground keeps only recent media). Reroll it to make it again.');
      return;
    }
    const total = item.data.length;
    const headers: http.OutgoingHttpHeaders = { 'content-type': item.mimeType, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=3600' };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      let start = range[1] ? Number(range[1]) : total - Number(range[2]);
      let end = range[1] && range[2] ? Number(range[2]) : total - 1;
      start = Math.max(0, start);
      end = Math.min(total - 1, end);
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${total}` });
        res.end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${total}`, 'content-length': end - start + 1 });
      res.end(req.method === 'HEAD' ? undefined : item.data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': total });
    res.end(req.method === 'HEAD' ? undefined : item.data);
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://playground.local');
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      const method = req.method ?? 'GET';
      const refusal = guardFor().check(method, req.headers, routeKind(method, url.pathname));
      if (refusal) {
        refused++;
        logger.debug(`refused ${method} ${url.pathname} ${refusal.status}: ${refusal.code}`);
        // The body is never parsed; discard it so the client reads the 403 instead of a reset connection.
        req.resume();
        return sendJson(res, refusal.status, { ok: false, code: refusal.code, error: refusal.message });
      }
      try {
        const asset = STATIC[url.pathname];
        if (asset && (req.method === 'GET' || req.method === 'HEAD')) {
          const data = await readFile(path.join(PUBLIC_DIR, asset.file));
          res.writeHead(200, { 'content-type': asset.type, 'content-length': data.length, 'cache-control': 'no-cache' });
          res.end(req.method === 'HEAD' ? undefined : data);
          return;
        }
        if (url.pathname === '/events' && req.method === 'GET') {
          const session = sessionFor(url.searchParams.get('session'));
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
          res.write('retry: 1000\n\n');
          const last = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? 0);
          session.attach(res, Number.isFinite(last) ? last : 0);
          return;
        }
        if (url.pathname.startsWith('/media/') && (req.method === 'GET' || req.method === 'HEAD')) return serveMedia(req, res, url.pathname.slice('/media/'.length));
        if (url.pathname === '/api/message' && req.method === 'POST') {
          const receivedAt = core.clock.now();
          return sendJson(res, 200, await onMessage(await readJson(req, MAX_MESSAGE_WITH_IMAGE_BYTES), receivedAt));
        }
        if (url.pathname === '/api/action' && req.method === 'POST') return sendJson(res, 200, await onAction(await readJson(req)));
        if (url.pathname === '/healthz') {
          sessions.sweep();
          return sendJson(res, 200, { ok: true, sessions: sessions.size, mediaBytes: media.totalBytes, refused });
        }
        throw new HttpError(404, `Nothing at ${url.pathname}.`);
      } catch (err) {
        if (!(err instanceof HttpError)) logger.error(`${req.method} ${url.pathname} failed`, err);
        if (res.headersSent) res.end();
        else sendJson(res, err instanceof HttpError ? err.status : 500, { ok: false, error: err instanceof Error ? err.message : 'internal error' });
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    const listenHost = options.host ?? '127.0.0.1';
    const listenPort = options.port ?? 8787;
    // A busy port names PLAYGROUND_PORT (and PLAYGROUND_HOST for an address that is not this machine's).
    const onError = (err: Error) => {
      const address = `${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${listenPort}`;
      const inUse = /EADDRINUSE/.test(err.message);
      reject(listenError(address, { variable: inUse ? 'PLAYGROUND_PORT' : 'PLAYGROUND_HOST / PLAYGROUND_PORT', whenInUse: `stop what uses it, or choose another port with PLAYGROUND_PORT (0 picks a free one)` }, err));
    };
    server.once('error', onError);
    server.listen(listenPort, listenHost, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    port: address.port,
    media,
    async close() {
      for (const s of sessions.values()) s.closeAll();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
