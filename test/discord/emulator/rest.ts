// The REST half of the emulator: the routes discord.js calls for this bot, with Discord's status codes and error codes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { parseBody, type UploadedFile } from './multipart.ts';
import { ChannelKind, revisionOf, type EmuAttachment, type EmuInteraction, type EmuMessage, type World } from './model.ts';

export interface RecordedRequest {
  at: number;
  method: string;
  /** Path without the /api/v10 prefix, e.g. /webhooks/1/tok/messages/@original */
  path: string;
  query: URLSearchParams;
  status: number;
  authorized: boolean;
  body: Record<string, unknown> | undefined;
  files: Array<{ filename: string; contentType: string; size: number }>;
  /** Discord's error code when the emulator refused the request. */
  errorCode?: number;
}

export interface RateLimitRule {
  method?: string;
  path: RegExp;
  /** How many matching requests get a 429 before the route works again. */
  times: number;
  retryAfterSeconds: number;
  global?: boolean;
}

/** Matching requests take effect at once (and their gateway events go out) but their HTTP answer is held back. */
export interface SlowResponseRule {
  method?: string;
  path: RegExp;
  /** How many matching requests are answered late. */
  times: number;
  delayMs: number;
}

export interface RestSettings {
  token: string;
  /** Per-request upload limit for bot-token messages (and interactions that report none). */
  uploadLimitBytes: number;
  /** Time an interaction has to be acknowledged. */
  ackDeadlineMs: number;
  /** Lifetime of an interaction token. */
  tokenLifetimeMs: number;
}

export interface RestContext {
  world: World;
  settings: RestSettings;
  rateLimits: RateLimitRule[];
  slowResponses: SlowResponseRule[];
  log: RecordedRequest[];
  dispatch(event: string, data: Record<string, unknown>): void;
  gatewayUrl(): string;
  onRecorded(entry: RecordedRequest): void;
  /** Every GET of the attachment CDN, so tests see what the bot fetched (and that it fetched nothing it refused). */
  cdnLog?: CdnRequest[];
}

export interface CdnRequest {
  at: number;
  path: string;
  found: boolean;
}

class ApiError extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

const MAX_CONTENT = 2000;
const LOADING_FLAG = 1 << 7;

export function createRestHandler(ctx: RestContext) {
  const { world } = ctx;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();

    // Attachments are served outside the API prefix, like Discord's CDN.
    const cdn = /^\/attachments\/(\d+)\/[^/]+$/.exec(url.pathname);
    if (cdn && method === 'GET') {
      const attachment = world.attachments.get(cdn[1] ?? '');
      ctx.cdnLog?.push({ at: world.clock.now(), path: url.pathname, found: attachment !== undefined });
      if (!attachment) return send(res, 404, { message: 'Not Found' });
      if (attachment.delayMs) await new Promise((r) => setTimeout(r, attachment.delayMs));
      if (attachment.redirectTo) {
        res.writeHead(302, { location: attachment.redirectTo });
        res.end();
        return;
      }
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': attachment.contentType, ...(attachment.chunked ? {} : { 'content-length': attachment.data.length }) });
      res.end(attachment.data);
      return;
    }

    const path = decodeURIComponent(url.pathname).replace(/^\/api/, '').replace(/^\/v\d+/, '');
    const authorized = req.headers.authorization === `Bot ${ctx.settings.token}`;
    const entry: RecordedRequest = { at: world.clock.now(), method, path, query: url.searchParams, status: 0, authorized, body: undefined, files: [] };

    try {
      const body = await parseBody(req.headers['content-type'], raw);
      entry.body = body.json;
      entry.files = body.files.map((f) => ({ filename: f.filename, contentType: f.contentType, size: f.data.length }));

      const limited = takeRule(ctx.rateLimits, method, path);
      if (limited) {
        entry.status = 429;
        const headers: Record<string, string> = {
          'Retry-After': String(limited.retryAfterSeconds),
          'X-RateLimit-Limit': '5',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String((Date.now() / 1000 + limited.retryAfterSeconds).toFixed(3)),
          'X-RateLimit-Reset-After': String(limited.retryAfterSeconds),
          'X-RateLimit-Bucket': bucketOf(method, path),
          'X-RateLimit-Scope': limited.global ? 'global' : 'user',
        };
        if (limited.global) headers['X-RateLimit-Global'] = 'true';
        send(res, 429, { message: 'You are being rate limited.', retry_after: limited.retryAfterSeconds, global: limited.global ?? false }, headers);
        return;
      }

      const result = await route(method, path, url.searchParams, body.json ?? {}, body.files, authorized);
      entry.status = result.status;
      const slow = takeRule(ctx.slowResponses, method, path);
      if (slow) await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
      send(res, result.status, result.body, {
        'X-RateLimit-Limit': '50',
        'X-RateLimit-Remaining': '49',
        'X-RateLimit-Reset-After': '1',
        'X-RateLimit-Bucket': bucketOf(method, path),
      });
    } catch (error) {
      if (error instanceof ApiError) {
        entry.status = error.status;
        entry.errorCode = error.code;
        send(res, error.status, { message: error.message, code: error.code });
      } else {
        entry.status = 500;
        send(res, 500, { message: `emulator failure: ${(error as Error).message}`, code: 0 });
      }
    } finally {
      ctx.log.push(entry);
      ctx.onRecorded(entry);
    }
  };

  async function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    files: UploadedFile[],
    authorized: boolean,
  ): Promise<{ status: number; body?: unknown }> {
    let m: RegExpExecArray | null;
    const requireBot = () => {
      if (!authorized) throw new ApiError(401, 0, '401: Unauthorized');
    };

    if (method === 'POST' && (m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) {
      return interactionCallback(m[1] ?? '', decodeURIComponent(m[2] ?? ''), query, body, files);
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/.exec(path))) {
      const interaction = interactionForToken(decodeURIComponent(m[2] ?? ''));
      return webhookMessage(method, interaction, decodeURIComponent(m[3] ?? ''), body, files);
    }
    if (method === 'POST' && (m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path))) {
      const interaction = interactionForToken(decodeURIComponent(m[2] ?? ''));
      if (interaction.acknowledgedAt === null) throw new ApiError(404, 10015, 'Unknown Webhook');
      const channelId = query.get('thread_id') ?? interaction.channelId;
      const message = createMessage(channelId, body, files, interaction.attachmentSizeLimit, { webhookId: world.applicationId });
      return { status: 200, body: world.apiMessage(message) };
    }

    requireBot();
    if (method === 'GET' && path === '/gateway/bot') {
      return {
        status: 200,
        body: { url: ctx.gatewayUrl(), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } },
      };
    }
    if (method === 'GET' && path === '/users/@me') return { status: 200, body: world.apiUser(world.botUser) };
    if (method === 'GET' && path === '/applications/@me') {
      return { status: 200, body: { id: world.applicationId, name: 'animate', description: '', flags: 0, bot_public: true, bot_require_code_grant: false, icon: null, verify_key: '' } };
    }
    if ((m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path))) {
      const guildId = m[2] ?? null;
      if (guildId !== null && guildId !== world.guildId) throw new ApiError(404, 10004, 'Unknown Guild');
      if (method === 'GET') return { status: 200, body: world.commands.filter((c) => c.guildId === guildId).map((c) => c.raw) };
      if (method === 'PUT') return { status: 200, body: registerCommands(m[1] ?? '', guildId, body as unknown as unknown[]) };
    }
    if (method === 'GET' && (m = /^\/guilds\/(\d+)$/.exec(path))) return { status: 200, body: world.apiGuild() };
    if (method === 'GET' && (m = /^\/guilds\/(\d+)\/members\/(\d+)$/.exec(path))) {
      const user = world.users.get(m[2] ?? '');
      if (!user) throw new ApiError(404, 10007, 'Unknown Member');
      return { status: 200, body: world.apiMember(user) };
    }
    if ((m = /^\/channels\/(\d+)$/.exec(path)) && method === 'GET') {
      return { status: 200, body: world.apiChannel(channelOrThrow(m[1] ?? '')) };
    }
    if ((m = /^\/channels\/(\d+)\/typing$/.exec(path)) && method === 'POST') return { status: 204 };
    if ((m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const channel = channelOrThrow(m[1] ?? '');
      if (method === 'GET') {
        const limit = Number(query.get('limit') ?? 50);
        return { status: 200, body: world.messagesIn(channel.id).reverse().slice(0, limit).map((x) => world.apiMessage(x)) };
      }
      if (method === 'POST') {
        requirePermissions(channel.id, files.length > 0);
        const message = createMessage(channel.id, body, files, ctx.settings.uploadLimitBytes, { webhookId: null });
        return { status: 200, body: world.apiMessage(message) };
      }
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path)) && method === 'POST') {
      return { status: 201, body: startThread(m[1] ?? '', m[2] ?? '', body) };
    }
    if ((m = /^\/channels\/(\d+)\/threads$/.exec(path)) && method === 'POST') {
      return { status: 201, body: startThread(m[1] ?? '', null, body) };
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      const channel = channelOrThrow(m[1] ?? '');
      const message = messageOrThrow(m[2] ?? '', channel.id);
      if (method === 'GET') return { status: 200, body: world.apiMessage(message) };
      if (method === 'PATCH') {
        if (message.author.id !== world.botUser.id) throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
        requirePermissions(channel.id, files.length > 0);
        editMessage(message, body, files, ctx.settings.uploadLimitBytes);
        return { status: 200, body: world.apiMessage(message) };
      }
      if (method === 'DELETE') {
        message.deleted = true;
        ctx.dispatch('MESSAGE_DELETE', { id: message.id, channel_id: channel.id, guild_id: world.guildId });
        return { status: 204 };
      }
    }
    throw new ApiError(404, 0, `404: Not Found (the emulator has no route ${method} ${path})`);
  }

  function takeRule<Rule extends { method?: string; path: RegExp; times: number }>(rules: Rule[], method: string, path: string): Rule | undefined {
    const rule = rules.find((r) => r.times > 0 && (!r.method || r.method === method) && r.path.test(path));
    if (rule) rule.times -= 1;
    return rule;
  }

  function interactionForToken(token: string): EmuInteraction {
    const interaction = world.interactionsByToken.get(token);
    if (!interaction) throw new ApiError(404, 10015, 'Unknown Webhook');
    if (interaction.tokenRevoked || world.clock.now() - interaction.createdAt > ctx.settings.tokenLifetimeMs) throw new ApiError(401, 50027, 'Invalid Webhook Token');
    return interaction;
  }

  function channelOrThrow(id: string) {
    const channel = world.channels.get(id);
    if (!channel) throw new ApiError(404, 10003, 'Unknown Channel');
    return channel;
  }

  function messageOrThrow(id: string, channelId?: string): EmuMessage {
    const message = world.messages.get(id);
    if (!message || message.deleted || (channelId && message.channelId !== channelId)) throw new ApiError(404, 10008, 'Unknown Message');
    return message;
  }

  function requirePermissions(channelId: string, withFiles: boolean): void {
    const channel = channelOrThrow(channelId);
    const perms = world.botPermissionsIn(channelId);
    if (!(perms & PermissionFlagsBits.ViewChannel)) throw new ApiError(403, 50001, 'Missing Access');
    const send = channel.type === ChannelKind.PublicThread ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
    if (!(perms & send)) throw new ApiError(403, 50013, 'Missing Permissions');
    if (withFiles && !(perms & PermissionFlagsBits.AttachFiles)) throw new ApiError(403, 50013, 'Missing Permissions');
  }

  function validateMessageBody(body: Record<string, unknown>): void {
    const content = body['content'];
    if (typeof content === 'string' && content.length > MAX_CONTENT) {
      throw new ApiError(400, 50035, `Invalid Form Body: content: Must be ${MAX_CONTENT} or fewer in length.`);
    }
    const rows = body['components'];
    if (Array.isArray(rows)) {
      if (rows.length > 5) throw new ApiError(400, 50035, 'Invalid Form Body: components: Must be 5 or fewer in length.');
      for (const row of rows as Array<{ components?: Array<{ custom_id?: string }> }>) {
        if ((row.components?.length ?? 0) > 5) throw new ApiError(400, 50035, 'Invalid Form Body: components.components: Must be 5 or fewer in length.');
        for (const c of row.components ?? []) {
          if (c.custom_id !== undefined && c.custom_id.length > 100) throw new ApiError(400, 50035, 'Invalid Form Body: custom_id: Must be 100 or fewer in length.');
        }
      }
    }
  }

  function storeFiles(body: Record<string, unknown>, files: UploadedFile[], limit: number): EmuAttachment[] {
    const total = files.reduce((sum, f) => sum + f.data.length, 0);
    if (total > limit) throw new ApiError(413, 40005, 'Request entity too large');
    const declared = Array.isArray(body['attachments']) ? (body['attachments'] as Array<{ id?: unknown; filename?: string }>) : [];
    return files.map((file) => {
      const meta = declared.find((a) => String(a.id) === String(file.index));
      const id = world.ids.next();
      const filename = meta?.filename ?? file.filename;
      const attachment: EmuAttachment = {
        id,
        filename,
        contentType: file.contentType,
        size: file.data.length,
        data: file.data,
        url: `${world.baseUrl()}/attachments/${id}/${encodeURIComponent(filename)}`,
      };
      world.attachments.set(id, attachment);
      return attachment;
    });
  }

  function mentionsIn(content: string) {
    return [...content.matchAll(/<@!?(\d+)>/g)].flatMap((x) => {
      const user = world.users.get(x[1] ?? '');
      return user ? [user] : [];
    });
  }

  function createMessage(
    channelId: string,
    body: Record<string, unknown>,
    files: UploadedFile[],
    uploadLimit: number,
    opts: { webhookId: string | null; interactionId?: string; flags?: number },
  ): EmuMessage {
    channelOrThrow(channelId);
    validateMessageBody(body);
    const content = typeof body['content'] === 'string' ? body['content'] : '';
    const attachments = storeFiles(body, files, uploadLimit);
    if (!content && attachments.length === 0 && !Array.isArray(body['embeds']) && opts.flags === undefined) {
      throw new ApiError(400, 50006, 'Cannot send an empty message');
    }
    const message = world.addMessage({
      channelId,
      author: world.botUser,
      content,
      components: Array.isArray(body['components']) ? body['components'] : [],
      embeds: Array.isArray(body['embeds']) ? body['embeds'] : [],
      attachments,
      flags: (typeof body['flags'] === 'number' ? body['flags'] : 0) | (opts.flags ?? 0),
      webhookId: opts.webhookId,
      interactionId: opts.interactionId ?? null,
      mentions: mentionsIn(content),
    });
    ctx.dispatch('MESSAGE_CREATE', world.apiMessage(message));
    return message;
  }

  function editMessage(message: EmuMessage, body: Record<string, unknown>, files: UploadedFile[], uploadLimit: number): void {
    validateMessageBody(body);
    const added = storeFiles(body, files, uploadLimit);
    if ('content' in body) message.content = typeof body['content'] === 'string' ? body['content'] : '';
    if ('components' in body) message.components = Array.isArray(body['components']) ? body['components'] : [];
    if ('embeds' in body) message.embeds = Array.isArray(body['embeds']) ? body['embeds'] : [];
    if (Array.isArray(body['attachments'])) {
      // Existing attachments survive only when listed by id; new uploads are the listed indexes.
      const keep = new Set((body['attachments'] as Array<{ id?: unknown }>).map((a) => String(a.id)));
      message.attachments = message.attachments.filter((a) => keep.has(a.id));
    }
    message.attachments.push(...added);
    message.flags &= ~LOADING_FLAG;
    message.editedAt = world.clock.now();
    message.revisions.push(revisionOf(message, message.editedAt));
    ctx.dispatch('MESSAGE_UPDATE', world.apiMessage(message));
  }

  async function interactionCallback(id: string, token: string, query: URLSearchParams, body: Record<string, unknown>, files: UploadedFile[]) {
    const interaction = world.interactions.get(id);
    if (!interaction || interaction.token !== token) throw new ApiError(404, 10062, 'Unknown interaction');
    if (interaction.acknowledgedAt !== null) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
    if (world.clock.now() - interaction.createdAt > ctx.settings.ackDeadlineMs) throw new ApiError(404, 10062, 'Unknown interaction');
    const type = Number(body['type']);
    const data = (body['data'] ?? {}) as Record<string, unknown>;
    let message: EmuMessage | undefined;
    switch (type) {
      case 4:
        message = createMessage(interaction.channelId, data, files, interaction.attachmentSizeLimit, { webhookId: world.applicationId, interactionId: interaction.id });
        interaction.originalMessageId = message.id;
        break;
      case 5:
        message = createMessage(interaction.channelId, { ...data, content: '' }, [], interaction.attachmentSizeLimit, {
          webhookId: world.applicationId,
          interactionId: interaction.id,
          flags: LOADING_FLAG,
        });
        interaction.originalMessageId = message.id;
        break;
      case 6:
      case 7: {
        if (!interaction.sourceMessageId) throw new ApiError(400, 40004, 'This interaction has no message to update');
        message = messageOrThrow(interaction.sourceMessageId);
        interaction.originalMessageId = message.id;
        if (type === 7) editMessage(message, data, files, interaction.attachmentSizeLimit);
        break;
      }
      case 9:
        interaction.modal = parseModal(data);
        break;
      case 8: {
        // APPLICATION_COMMAND_AUTOCOMPLETE_RESULT: only for autocomplete interactions, at most 25 choices.
        if (interaction.type !== 4) throw new ApiError(400, 50035, 'Invalid Form Body: type: 8 answers autocomplete interactions only');
        const choices = Array.isArray(data['choices']) ? (data['choices'] as Array<{ name: string; value: string | number }>) : [];
        if (choices.length > 25) throw new ApiError(400, 50035, 'Invalid Form Body: choices: at most 25');
        if (choices.some((c) => typeof c.name !== 'string' || c.name.length < 1 || c.name.length > 100)) throw new ApiError(400, 50035, 'Invalid Form Body: choices: name must be 1–100 characters');
        interaction.choices = choices;
        break;
      }
      default:
        throw new ApiError(400, 50035, `Invalid Form Body: type: ${type} is not a valid interaction response type here`);
    }
    interaction.acknowledgedAt = world.clock.now();
    interaction.responseType = type;
    if (query.get('with_response') === 'true') {
      return {
        status: 200,
        body: {
          interaction: {
            id: interaction.id,
            type: interaction.type,
            response_message_id: message?.id,
            response_message_loading: type === 5,
            response_message_ephemeral: false,
          },
          resource: { type, ...(message ? { message: world.apiMessage(message) } : {}) },
        },
      };
    }
    return { status: 204 };
  }

  function webhookMessage(method: string, interaction: EmuInteraction, which: string, body: Record<string, unknown>, files: UploadedFile[]) {
    const id = which === '@original' ? interaction.originalMessageId : which;
    if (!id) throw new ApiError(404, 10015, 'Unknown Webhook');
    const message = messageOrThrow(id);
    if (method === 'GET') return { status: 200, body: world.apiMessage(message) };
    if (method === 'PATCH') {
      editMessage(message, body, files, interaction.attachmentSizeLimit);
      return { status: 200, body: world.apiMessage(message) };
    }
    if (method === 'DELETE') {
      message.deleted = true;
      ctx.dispatch('MESSAGE_DELETE', { id: message.id, channel_id: message.channelId, guild_id: world.guildId });
      return { status: 204 };
    }
    throw new ApiError(405, 0, '405: Method Not Allowed');
  }

  function startThread(channelId: string, messageId: string | null, body: Record<string, unknown>) {
    const parent = channelOrThrow(channelId);
    if (parent.type === ChannelKind.PublicThread) throw new ApiError(400, 50024, 'Cannot execute action on this channel type');
    const perms = world.botPermissionsIn(channelId);
    if (!(perms & PermissionFlagsBits.CreatePublicThreads)) throw new ApiError(403, 50013, 'Missing Permissions');
    const name = typeof body['name'] === 'string' ? body['name'] : '';
    if (name.length < 1 || name.length > 100) throw new ApiError(400, 50035, 'Invalid Form Body: name: Must be between 1 and 100 in length.');
    let message: EmuMessage | undefined;
    if (messageId) {
      message = messageOrThrow(messageId, channelId);
      if (message.threadId) throw new ApiError(400, 160004, 'A thread has already been created for this message');
    }
    const thread = world.addChannel({ ...(message ? { id: message.id } : {}), name, type: ChannelKind.PublicThread, parentId: parent.id, ownerId: world.botUser.id });
    if (typeof body['auto_archive_duration'] === 'number') thread.autoArchiveMinutes = body['auto_archive_duration'];
    if (message) message.threadId = thread.id;
    ctx.dispatch('THREAD_CREATE', { ...world.apiChannel(thread), newly_created: true });
    return world.apiChannel(thread);
  }

  function registerCommands(applicationId: string, guildId: string | null, list: unknown[]) {
    if (!Array.isArray(list)) throw new ApiError(400, 50035, 'Invalid Form Body: expected an array of commands');
    for (let i = world.commands.length - 1; i >= 0; i -= 1) if (world.commands[i]?.guildId === guildId) world.commands.splice(i, 1);
    return list.map((item) => {
      const def = item as Record<string, unknown>;
      const name = String(def['name'] ?? '');
      if (!/^[-_\p{L}\p{N}]{1,32}$/u.test(name) || name !== name.toLowerCase()) throw new ApiError(400, 50035, `Invalid Form Body: name: "${name}" is not a valid command name`);
      const options = (def['options'] as Array<Record<string, unknown>> | undefined) ?? [];
      for (const o of options) {
        // As Discord: an option either lists its choices or is autocompleted, never both.
        if (o['autocomplete'] === true && Array.isArray(o['choices']) && o['choices'].length > 0)
          throw new ApiError(400, 50035, `Invalid Form Body: options.${String(o['name'])}: autocomplete cannot be set with choices`);
      }
      const id = world.ids.next();
      const raw = { ...def, id, application_id: applicationId, guild_id: guildId ?? undefined, version: id, type: def['type'] ?? 1 };
      world.commands.push({
        id,
        applicationId,
        guildId,
        name,
        description: String(def['description'] ?? ''),
        options: (def['options'] as never[] | undefined) ?? [],
        raw,
      });
      return raw;
    });
  }
}

function parseModal(data: Record<string, unknown>) {
  const fields: Record<string, { label: string; value: string | undefined; style: number }> = {};
  const walk = (components: unknown, label?: string): void => {
    if (!Array.isArray(components)) return;
    for (const c of components as Array<Record<string, unknown>>) {
      if (c['type'] === 4 && typeof c['custom_id'] === 'string') {
        fields[c['custom_id']] = {
          label: String(c['label'] ?? label ?? ''),
          value: typeof c['value'] === 'string' ? c['value'] : undefined,
          style: Number(c['style'] ?? 1),
        };
      }
      walk(c['components'], label);
      if (c['component']) walk([c['component']], String(c['label'] ?? ''));
    }
  };
  walk(data['components']);
  return { customId: String(data['custom_id'] ?? ''), title: String(data['title'] ?? ''), fields };
}

function bucketOf(method: string, path: string): string {
  return `${method}:${path.replace(/\d{5,}/g, ':id').replace(/\/webhooks\/:id\/[^/]+/, '/webhooks/:id/:token')}`;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status === 200 && body === undefined ? 204 : status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
