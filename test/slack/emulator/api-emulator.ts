// A local emulator of the Slack Web API for tests: a real HTTP server on loopback that the real
// @slack/web-api client (inside Bolt) talks to through `slackApiUrl`. It keeps workspace state, records
// every call for assertions, and can be told to answer with 429 + Retry-After or with Slack errors
// (missing_scope, not_in_channel, ...) so the app's handling of them can be tested.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkspaceState, type EmulatedChannel, type EmulatedFile, type EmulatedMessage, type EmulatedUser } from './state.ts';

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  /** Milliseconds since the emulator started. */
  at: number;
  /** HTTP status answered (200 or 429). */
  status: number;
  ok: boolean;
  error?: string;
}

export interface UploadPost {
  fileId: string;
  bytes: Buffer;
  contentType: string;
  at: number;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
  at: number;
}

export interface SlackEmulatorOptions {
  botToken?: string;
  /** App-level token accepted by app-token methods (apps.connections.open). */
  appToken?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Bot token scopes granted; a method whose scope is missing answers missing_scope. */
  scopes?: string[];
  users?: EmulatedUser[];
  channels?: EmulatedChannel[];
  /** Largest file the workspace accepts (files.getUploadURLExternal answers file_too_large above it). */
  maxFileBytes?: number;
  /** Reject the upload POST unless Content-Length-ish data arrives; default true. */
  requireUploadBytes?: boolean;
}

/** The scope each emulated method needs, as Slack documents them. */
const REQUIRED_SCOPES: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  'files.delete': 'files:write',
  'conversations.info': 'channels:read',
  'conversations.members': 'channels:read',
  'users.info': 'users:read',
  'conversations.replies': 'channels:history',
};

export const DEFAULT_SCOPES = ['chat:write', 'commands', 'files:write', 'channels:read', 'users:read', 'app_mentions:read', 'files:read', 'channels:history'];

/** One GET of the emulated file host (url_private): what the bot downloaded, and with which credentials. */
export interface FileDownload {
  fileId: string;
  authorized: boolean;
  status: number;
  at: number;
}

/** JSON-valued form fields the web client serialises as strings. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'view', 'metadata']);

class ApiError extends Error {
  constructor(readonly error: string, readonly extra: Record<string, unknown> = {}) {
    super(error);
  }
}

type Handler = (params: Record<string, unknown>) => Record<string, unknown>;

export class SlackEmulator {
  readonly state = new WorkspaceState();
  readonly calls: RecordedCall[] = [];
  readonly uploads: UploadPost[] = [];
  /** GETs of url_private (shared files the bot downloaded). */
  readonly fileDownloads: FileDownload[] = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];
  readonly botToken: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  scopes: Set<string>;
  maxFileBytes: number;
  private readonly started = Date.now();
  private readonly rateLimits = new Map<string, { retryAfterSeconds: number; remaining: number }>();
  private readonly failures = new Map<string, { error: string; remaining: number }>();
  private readonly waiters = new Set<() => void>();
  private server?: Server;
  private baseUrl = '';
  /** Methods called with the app-level token (xapp-…) rather than the bot token. */
  private readonly appTokenMethods = new Set<string>();
  readonly appToken: string;

  constructor(options: SlackEmulatorOptions = {}) {
    this.botToken = options.botToken ?? 'xoxb-emulator-token';
    this.appToken = options.appToken ?? 'xapp-emulator-token';
    this.teamId = options.teamId ?? 'T0EMULATE';
    this.botUserId = options.botUserId ?? 'U0BOTUSER';
    this.botId = options.botId ?? 'B0BOT';
    this.appId = options.appId ?? 'A0ANIMATE';
    this.scopes = new Set(options.scopes ?? DEFAULT_SCOPES);
    this.maxFileBytes = options.maxFileBytes ?? 1024 * 1024 * 1024;
    const users = options.users ?? [
      { id: 'U0ALICE', name: 'alice', isAdmin: false },
      { id: 'U0BOB', name: 'bob', isAdmin: false },
      { id: 'U0ADMIN', name: 'admin', isAdmin: true },
    ];
    for (const user of users) this.state.users.set(user.id, user);
    const channels = options.channels ?? [
      { id: 'C0GENERAL', name: 'general', botIsMember: true, members: users.map((u) => u.id) },
      { id: 'C0OUTSIDE', name: 'outside', botIsMember: false, members: users.map((u) => u.id) },
    ];
    for (const channel of channels) this.state.channels.set(channel.id, channel);
  }

  /** Base URL for the web client's `slackApiUrl` (ends with /api/). */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  /** A response_url the emulator records posts to (as Slack gives with slash commands and actions). */
  responseUrl(id: string): string {
    return `${this.baseUrl}/response/${encodeURIComponent(id)}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- test controls -------------------------------------------------------------------------

  /** The next `times` calls of `method` answer HTTP 429 with Retry-After. */
  rateLimit(method: string, retryAfterSeconds: number, times = 1): void {
    this.rateLimits.set(method, { retryAfterSeconds, remaining: times });
  }

  /** The next `times` calls of `method` answer `{ ok: false, error }`. */
  failNext(method: string, error: string, times = 1): void {
    this.failures.set(method, { error, remaining: times });
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `predicate` holds (checked after every recorded call), rejects after `timeoutMs`. */
  waitFor<T>(predicate: () => T | undefined | false, timeoutMs = 30_000, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = predicate();
        if (value) {
          cleanup();
          resolve(value);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Slack emulator: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(onChange);
      };
      const onChange = (): void => void check();
      if (!check()) this.waiters.add(onChange);
    });
  }

  /** Replies in a thread with their files' bytes, for assertions. */
  thread(channel: string, threadTs: string): EmulatedMessage[] {
    return this.state.thread(channel, threadTs);
  }

  now(): number {
    return Date.now() - this.started;
  }

  /** The HTTP server (for extensions such as the Socket Mode endpoint). */
  get httpServer(): Server {
    if (!this.server) throw new Error('emulator not started');
    return this.server;
  }

  get origin(): string {
    return this.baseUrl;
  }

  /** Adds a Web API method (used by extensions); `appToken` methods take the app-level token. */
  addMethod(name: string, handler: (params: Record<string, unknown>) => Record<string, unknown>, options: { appToken?: boolean } = {}): void {
    this.handlers[name] = handler;
    if (options.appToken) this.appTokenMethods.add(name);
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (url.pathname.startsWith('/api/')) return this.handleApi(url.pathname.slice(5), req, body, res);
    if (url.pathname.startsWith('/upload/')) return this.handleUpload(decodeURIComponent(url.pathname.slice(8)), req, body, res);
    if (url.pathname.startsWith('/files-pri/') && req.method === 'GET') return this.serveFile(url.pathname, req, res);
    if (url.pathname.startsWith('/response/')) {
      const parsed = parseParams(req.headers['content-type'] ?? '', body);
      this.responseUrlPosts.push({ id: decodeURIComponent(url.pathname.slice(10)), body: parsed, at: this.now() });
      this.notify();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    res.writeHead(404).end('not found');
  }

  private async handleApi(method: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const params = parseParams(req.headers['content-type'] ?? '', body);
    const record: RecordedCall = { method, params, at: this.now(), status: 200, ok: false };
    this.calls.push(record);
    try {
      const limited = this.rateLimits.get(method);
      if (limited && limited.remaining > 0) {
        limited.remaining -= 1;
        record.status = 429;
        record.error = 'ratelimited';
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(limited.retryAfterSeconds) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      const token = bearer(req) ?? (typeof params.token === 'string' ? params.token : undefined);
      const expected = this.appTokenMethods.has(method) ? this.appToken : this.botToken;
      if (token !== expected) throw new ApiError(token ? 'invalid_auth' : 'not_authed');
      const scope = REQUIRED_SCOPES[method];
      if (scope && !this.scopes.has(scope)) {
        throw new ApiError('missing_scope', { needed: scope, provided: [...this.scopes].join(',') });
      }
      const failure = this.failures.get(method);
      if (failure && failure.remaining > 0) {
        failure.remaining -= 1;
        throw new ApiError(failure.error);
      }
      const handler = this.handlers[method];
      if (!handler) throw new ApiError('unknown_method');
      const result = handler(params);
      record.ok = true;
      json(res, { ok: true, ...result });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      record.error = err.error;
      json(res, { ok: false, error: err.error, ...err.extra });
    } finally {
      this.notify();
    }
  }

  private async handleUpload(fileId: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const file = this.state.files.get(fileId);
    if (!file) {
      res.writeHead(404).end('unknown upload');
      return;
    }
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    let bytes = body;
    if (contentType.startsWith('multipart/form-data')) {
      // The web client posts the file as a multipart form whose single file part carries the bytes.
      const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
      const parts: File[] = [];
      form.forEach((value) => {
        if (typeof value !== 'string') parts.push(value);
      });
      for (const part of parts) {
        bytes = Buffer.from(await part.arrayBuffer());
        file.uploadedFilename = part.name;
      }
    }
    file.bytes = bytes;
    file.uploadedAt = this.now();
    this.uploads.push({ fileId, bytes, contentType, at: file.uploadedAt });
    this.notify();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  /**
   * url_private, as files.slack.com serves it: only with the bot token (Authorization: Bearer) of an app that has
   * files:read; anyone else gets 403 (real Slack answers a login page, which is no image either).
   */
  private async serveFile(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = /^\/files-pri\/[^-/]+-([^/]+)\//.exec(pathname)?.[1] ?? '';
    const file = this.state.files.get(id);
    const authorized = bearer(req) === this.botToken && this.scopes.has('files:read');
    const status = !file?.bytes ? 404 : authorized ? 200 : 403;
    this.fileDownloads.push({ fileId: id, authorized, status, at: this.now() });
    this.notify();
    if (status !== 200 || !file?.bytes) {
      res.writeHead(status, { 'content-type': 'text/html' }).end('<html>sign in</html>');
      return;
    }
    if (file.delayMs) await new Promise((r) => setTimeout(r, file.delayMs));
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': file.mimetype ?? 'application/octet-stream', ...(file.chunked ? {} : { 'content-length': file.bytes.length }) });
    res.end(file.bytes);
  }

  /** A file's object as events and conversations.replies show it. */
  fileObject(file: EmulatedFile): Record<string, unknown> {
    const url = file.urlPrivate ?? `${this.baseUrl}/files-pri/${this.teamId}-${file.id}/${encodeURIComponent(file.filename)}`;
    return { id: file.id, name: file.filename, title: file.title ?? file.filename, mimetype: file.mimetype ?? '', size: file.declaredLength, user: file.userId ?? '', url_private: url, url_private_download: url };
  }

  /**
   * A person shares a file in a channel or thread (a message of theirs carrying it). Returns the message ts and the
   * file object, to put in an app_mention's `files` or to find with conversations.replies.
   */
  shareFile(
    user: string,
    channel: string,
    bytes: Buffer,
    name: string,
    mimetype: string,
    opts: { threadTs?: string; text?: string; declaredSize?: number; chunked?: boolean; delayMs?: number; urlPrivate?: string } = {},
  ): { ts: string; file: Record<string, unknown> } {
    const id = this.state.nextId('F');
    const file: EmulatedFile = {
      id,
      filename: name,
      declaredLength: opts.declaredSize ?? bytes.length,
      bytes,
      completed: true,
      deleted: false,
      mimetype,
      userId: user,
      channelId: channel,
      ...(opts.threadTs ? { threadTs: opts.threadTs } : {}),
      ...(opts.chunked ? { chunked: true } : {}),
      ...(opts.delayMs ? { delayMs: opts.delayMs } : {}),
      ...(opts.urlPrivate ? { urlPrivate: opts.urlPrivate } : {}),
    };
    this.state.files.set(id, file);
    const ts = this.state.nextTs(Date.now());
    const text = opts.text ?? '';
    this.state.messages.push({ channel, ts, user, text, fileIds: [id], history: [{ at: this.now(), text }], deleted: false, ...(opts.threadTs ? { threadTs: opts.threadTs } : {}) });
    return { ts, file: this.fileObject(file) };
  }

  // ---- methods -------------------------------------------------------------------------------

  private channelFor(params: Record<string, unknown>, key = 'channel'): EmulatedChannel {
    const id = str(params[key]);
    if (!id) throw new ApiError('channel_not_found');
    const channel = this.state.channels.get(id);
    if (!channel) throw new ApiError('channel_not_found');
    return channel;
  }

  private postableChannel(params: Record<string, unknown>, key = 'channel'): EmulatedChannel {
    const channel = this.channelFor(params, key);
    if (!channel.botIsMember) throw new ApiError('not_in_channel');
    return channel;
  }

  private readonly handlers: Record<string, Handler> = {
    'auth.test': () => ({
      url: 'https://emulated.slack.test/',
      team: 'Emulated',
      user: 'animate',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (params) => {
      const channel = this.postableChannel(params);
      const text = str(params.text) ?? '';
      const blocks = arr(params.blocks);
      if (!text && !blocks) throw new ApiError('no_text');
      const threadTs = str(params.thread_ts);
      if (threadTs && !this.state.findMessage(channel.id, threadTs)) throw new ApiError('thread_not_found');
      const ts = this.state.nextTs(Date.now());
      const message: EmulatedMessage = {
        channel: channel.id,
        ts,
        user: this.botUserId,
        text,
        fileIds: [],
        history: [{ at: this.now(), text, ...(blocks ? { blocks } : {}) }],
        deleted: false,
        ...(threadTs ? { threadTs } : {}),
        ...(blocks ? { blocks } : {}),
      };
      this.state.messages.push(message);
      return { channel: channel.id, ts, message: { text, ts, user: this.botUserId, ...(threadTs ? { thread_ts: threadTs } : {}) } };
    },

    'chat.update': (params) => {
      const channel = this.channelFor(params);
      const ts = str(params.ts) ?? '';
      const message = this.state.findMessage(channel.id, ts);
      if (!message) throw new ApiError('message_not_found');
      if (message.user !== this.botUserId) throw new ApiError('cant_update_message');
      const text = str(params.text) ?? message.text;
      const blocks = arr(params.blocks) ?? message.blocks;
      message.text = text;
      if (blocks) message.blocks = blocks;
      message.history.push({ at: this.now(), text, ...(blocks ? { blocks } : {}) });
      return { channel: channel.id, ts, text };
    },

    'chat.delete': (params) => {
      const channel = this.channelFor(params);
      const ts = str(params.ts) ?? '';
      const message = this.state.findMessage(channel.id, ts);
      if (!message) throw new ApiError('message_not_found');
      message.deleted = true;
      return { channel: channel.id, ts };
    },

    'chat.postEphemeral': (params) => {
      const channel = this.postableChannel(params);
      const user = str(params.user);
      if (!user || !this.state.users.has(user)) throw new ApiError('user_not_found');
      if (!channel.members.includes(user)) throw new ApiError('user_not_in_channel');
      const blocks = arr(params.blocks);
      const threadTs = str(params.thread_ts);
      this.state.ephemerals.push({
        channel: channel.id,
        user,
        text: str(params.text) ?? '',
        at: this.now(),
        ...(threadTs ? { threadTs } : {}),
        ...(blocks ? { blocks } : {}),
      });
      return { message_ts: this.state.nextTs(Date.now()) };
    },

    'views.open': (params) => {
      const triggerId = str(params.trigger_id);
      if (!triggerId) throw new ApiError('invalid_trigger_id');
      const view = params.view;
      if (typeof view !== 'object' || view === null) throw new ApiError('invalid_arguments');
      const id = this.state.nextId('V');
      this.state.views.push({ id, triggerId, view: view as Record<string, unknown>, at: this.now() });
      return { view: { id, ...(view as Record<string, unknown>) } };
    },

    'conversations.replies': (params) => {
      const channel = this.channelFor(params);
      const ts = str(params.ts) ?? '';
      const parent = this.state.findMessage(channel.id, ts);
      if (!parent) throw new ApiError('thread_not_found');
      const shown = (m: EmulatedMessage) => ({
        type: 'message',
        user: m.user,
        text: m.text,
        ts: m.ts,
        ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
        ...(m.fileIds.length ? { files: m.fileIds.flatMap((id) => { const f = this.state.files.get(id); return f ? [this.fileObject(f)] : []; }) } : {}),
      });
      return { messages: [parent, ...this.state.thread(channel.id, ts)].map(shown), has_more: false };
    },
    'conversations.info': (params) => {
      const channel = this.channelFor(params);
      return { channel: { id: channel.id, name: channel.name, is_channel: true, is_member: channel.botIsMember } };
    },

    'conversations.members': (params) => {
      const channel = this.channelFor(params);
      return { members: channel.members, response_metadata: { next_cursor: '' } };
    },

    'users.info': (params) => {
      const user = this.state.users.get(str(params.user) ?? '');
      if (!user) throw new ApiError('user_not_found');
      return { user: { id: user.id, name: user.name, is_admin: user.isAdmin, is_owner: false, is_bot: false } };
    },

    'files.getUploadURLExternal': (params) => {
      const filename = str(params.filename);
      const length = Number(params.length);
      if (!filename) throw new ApiError('invalid_arguments');
      if (!Number.isInteger(length) || length <= 0) throw new ApiError('invalid_arguments');
      if (length > this.maxFileBytes) throw new ApiError('file_too_large');
      const id = this.state.nextId('F');
      this.state.files.set(id, { id, filename, declaredLength: length, completed: false, deleted: false });
      return { upload_url: `${this.baseUrl}/upload/${id}`, file_id: id };
    },

    'files.completeUploadExternal': (params) => {
      const entries = arr(params.files) as { id?: string; title?: string }[] | undefined;
      if (!entries || entries.length === 0) throw new ApiError('invalid_arguments');
      const channelId = str(params.channel_id);
      const threadTs = str(params.thread_ts);
      const channel = channelId ? this.postableChannel(params, 'channel_id') : undefined;
      if (channel && threadTs && !this.state.findMessage(channel.id, threadTs)) throw new ApiError('thread_not_found');
      const files = entries.map((entry) => {
        const file = this.state.files.get(entry.id ?? '');
        if (!file || file.completed) throw new ApiError('file_not_found');
        if (!file.bytes) throw new ApiError('file_upload_not_found');
        return { file, title: entry.title };
      });
      const comment = str(params.initial_comment);
      for (const { file, title } of files) {
        file.completed = true;
        if (title) file.title = title;
        if (channel) file.channelId = channel.id;
        if (threadTs) file.threadTs = threadTs;
        if (comment) file.initialComment = comment;
      }
      if (channel) {
        const ts = this.state.nextTs(Date.now());
        this.state.messages.push({
          channel: channel.id,
          ts,
          user: this.botUserId,
          text: comment ?? '',
          fileIds: files.map((f) => f.file.id),
          history: [{ at: this.now(), text: comment ?? '' }],
          deleted: false,
          ...(threadTs ? { threadTs } : {}),
        });
      }
      return {
        files: files.map(({ file }) => ({ id: file.id, name: file.filename, title: file.title ?? file.filename, size: file.bytes?.length ?? 0 })),
      };
    },

    'files.delete': (params) => {
      const file = this.state.files.get(str(params.file) ?? '');
      if (!file || file.deleted) throw new ApiError('file_not_found');
      file.deleted = true;
      // A message whose only content was the deleted file disappears with it, as in Slack.
      for (const message of this.state.messages) {
        if (message.fileIds.includes(file.id)) {
          message.fileIds = message.fileIds.filter((id) => id !== file.id);
          if (message.fileIds.length === 0 && !message.text) message.deleted = true;
        }
      }
      return {};
    },
  };
}

export async function startSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  return new SlackEmulator(options).start();
}

// ---- helpers -----------------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseParams(contentType: string, body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  if (contentType.startsWith('application/json')) return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  const params: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    params[key] = JSON_FIELDS.has(key) ? tryJson(value) : value;
  }
  return params;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function json(res: ServerResponse, body: Record<string, unknown>): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function arr(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}
