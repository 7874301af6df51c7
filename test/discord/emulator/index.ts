// A local Discord: REST under /api/v10 and a gateway WebSocket on one loopback port, for the real discord.js client.
//
//   const discord = await startDiscordEmulator();
//   const client = new Client({ intents, rest: { api: discord.apiUrl } });   // /gateway/bot points at discord.gatewayUrl
//   await client.login(discord.token);
//   const i = discord.slashCommand(discord.users.alice, 'animate', { prompt: 'a red ball' });
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { makeToken, SnowflakeFactory, systemClock, type EmulatorClock } from './ids.ts';
import { DEFAULT_MEMBER_PERMISSIONS, type EmuAttachment, type EmuInteraction, type EmuMessage, type EmuUser, World } from './model.ts';
import { createRestHandler, type CdnRequest, type RateLimitRule, type RecordedRequest, type SlowResponseRule } from './rest.ts';
import { EmulatedGateway } from './gateway.ts';

export type { CdnRequest, EmuAttachment, EmuInteraction, EmuMessage, EmuUser, RecordedRequest, RateLimitRule, SlowResponseRule };

/** APPLICATION_COMMAND_OPTION_TYPE ATTACHMENT. */
const ATTACHMENT_OPTION_TYPE = 11;
export { PermissionFlagsBits };

export interface DiscordEmulatorOptions {
  token?: string;
  applicationId?: string;
  /** Clock used for interaction token lifetimes, the 3 s ack rule and timestamps. Default: the system clock. */
  clock?: EmulatorClock;
  /** Upload limit for bot-token messages and the default attachment_size_limit of interactions. Default 10 MiB. */
  uploadLimitBytes?: number;
  ackDeadlineMs?: number;
  tokenLifetimeMs?: number;
  heartbeatIntervalMs?: number;
  /** What GET /gateway/bot answers as `url` (default: this emulator's gateway), to test gateway URL overrides. */
  advertisedGatewayUrl?: string;
  /** The portal's Message Content toggle: false closes an IDENTIFY that asks for the intent with 4014. Default true. */
  messageContentAllowed?: boolean;
}

export type SlashOptionValue = string | number | boolean;

export interface DiscordEmulator {
  readonly token: string;
  readonly applicationId: string;
  /** Pass as discord.js `rest.api`. */
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly baseUrl: string;
  readonly world: World;
  readonly gateway: EmulatedGateway;
  readonly requests: RecordedRequest[];
  /** GETs of the attachment CDN (what the bot downloaded). */
  readonly cdnRequests: CdnRequest[];
  readonly users: { alice: EmuUser; bob: EmuUser; moderator: EmuUser };
  readonly generalChannelId: string;
  /** Next matching requests answer 429 with retry_after. */
  rateLimit(rule: RateLimitRule): void;
  /** Next matching requests take effect (and dispatch their events) at once but answer only after `delayMs`. */
  slowResponses(rule: SlowResponseRule): void;
  /** Changes the upload limit of bot-token messages (and the default attachment_size_limit of new interactions). */
  setUploadLimit(bytes: number): void;
  /** Removes permissions from the bot: in the whole guild, or through an overwrite in one channel (threads inherit it). */
  denyBotPermissions(bits: bigint, channelId?: string): void;
  /** Gives back permissions taken with denyBotPermissions. */
  grantBotPermissions(bits: bigint, channelId?: string): void;
  /** Makes Discord refuse an interaction's token from now on (401, 50027), as it sometimes does before 15 minutes. */
  revokeToken(interaction: EmuInteraction): void;
  /** `values` of attachment options are ids from uploadAttachment (resolved into data.resolved.attachments). */
  slashCommand(user: EmuUser, name: string, options: Record<string, SlashOptionValue>, init?: InteractionInit): EmuInteraction;
  /**
   * A file a person uploads with a command, served by the emulator's CDN (/attachments/ID/NAME). `declaredSize` is
   * the size the interaction reports (default the real one), `chunked` omits Content-Length, `delayMs` holds the
   * answer, `url` reports another address (another host) instead of the CDN's, `redirectTo` makes the CDN answer 302.
   */
  uploadAttachment(data: Buffer, filename: string, contentType: string, opts?: { declaredSize?: number; chunked?: boolean; delayMs?: number; url?: string; redirectTo?: string }): EmuAttachment;
  /**
   * A person typing in option `focused` of /name (APPLICATION_COMMAND_AUTOCOMPLETE): `values` are the options filled
   * so far, the focused one's value being the partial text. The answer's suggestions land in `choices`.
   */
  autocomplete(user: EmuUser, name: string, values: Record<string, SlashOptionValue>, focused: string, init?: InteractionInit): EmuInteraction;
  clickButton(user: EmuUser, messageId: string, customId: string, init?: InteractionInit): EmuInteraction;
  submitModal(user: EmuUser, customId: string, fields: Record<string, string>, init?: InteractionInit & { messageId?: string }): EmuInteraction;
  /** A person posts a message (dispatches MESSAGE_CREATE). */
  postMessage(user: EmuUser, channelId: string, content: string): EmuMessage;
  /** Messages in a channel or thread, oldest first. */
  messagesIn(channelId: string): EmuMessage[];
  originalMessage(interaction: EmuInteraction): EmuMessage | undefined;
  /** Resolves with the first recorded request that matches (already recorded ones count). */
  waitForRequest(match: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Polls a condition on the world until it holds. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

export interface InteractionInit {
  channelId?: string;
  /** attachment_size_limit reported on the interaction. */
  attachmentSizeLimit?: number;
}

export async function startDiscordEmulator(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  const clock = options.clock ?? systemClock;
  const ids = new SnowflakeFactory(clock);
  const token = options.token ?? 'emulator-bot-token';
  const applicationId = options.applicationId ?? ids.next();
  const uploadLimitBytes = options.uploadLimitBytes ?? 10 * 1024 * 1024;
  let baseUrl = '';
  const world = new World(ids, clock, applicationId, () => baseUrl);
  const users = {
    alice: world.addUser('alice'),
    bob: world.addUser('bob'),
    moderator: world.addUser('moderator', DEFAULT_MEMBER_PERMISSIONS | PermissionFlagsBits.ManageMessages),
  };
  const requests: RecordedRequest[] = [];
  const cdnRequests: CdnRequest[] = [];
  const rateLimits: RateLimitRule[] = [];
  const slowResponses: SlowResponseRule[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(100);

  let gateway: EmulatedGateway | undefined;
  const settings = {
    token,
    uploadLimitBytes,
    ackDeadlineMs: options.ackDeadlineMs ?? 3000,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 15 * 60 * 1000,
  };
  const server: Server = createServer(
    createRestHandler({
      world,
      settings,
      rateLimits,
      slowResponses,
      log: requests,
      dispatch: (event, data) => gateway?.dispatch(event, data),
      gatewayUrl: () => options.advertisedGatewayUrl ?? `${baseUrl.replace(/^http/, 'ws')}/gateway`,
      onRecorded: (entry) => events.emit('request', entry),
      cdnLog: cdnRequests,
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
  const gatewayUrl = `ws://127.0.0.1:${port}/gateway`;
  gateway = new EmulatedGateway(server, world, { token, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250, url: () => gatewayUrl, ...(options.messageContentAllowed !== undefined ? { messageContentAllowed: options.messageContentAllowed } : {}) });
  const gw = gateway;

  const memberPayload = (user: EmuUser) => world.apiMember(user);
  const channelPayload = (channelId: string) => {
    const channel = world.channels.get(channelId);
    if (!channel) throw new Error(`emulator: no channel ${channelId}`);
    return world.apiChannel(channel);
  };

  function newInteraction(user: EmuUser, type: number, data: Record<string, unknown>, init: InteractionInit & { messageId?: string } = {}): EmuInteraction {
    const channelId = init.channelId ?? (init.messageId ? world.messages.get(init.messageId)?.channelId : undefined) ?? world.generalChannelId;
    const interaction: EmuInteraction = {
      id: ids.next(),
      token: makeToken('interaction'),
      type,
      channelId,
      user,
      createdAt: clock.now(),
      acknowledgedAt: null,
      responseType: null,
      originalMessageId: null,
      sourceMessageId: init.messageId ?? null,
      modal: null,
      choices: null,
      tokenRevoked: false,
      attachmentSizeLimit: init.attachmentSizeLimit ?? settings.uploadLimitBytes,
      appPermissions: world.botPermissionsIn(channelId),
    };
    world.interactions.set(interaction.id, interaction);
    world.interactionsByToken.set(interaction.token, interaction);
    const source = init.messageId ? world.messages.get(init.messageId) : undefined;
    gw.dispatch('INTERACTION_CREATE', {
      id: interaction.id,
      application_id: applicationId,
      type,
      data,
      guild_id: world.guildId,
      guild: { id: world.guildId, locale: 'en-US', features: [] },
      channel_id: channelId,
      channel: channelPayload(channelId),
      member: memberPayload(user),
      token: interaction.token,
      version: 1,
      app_permissions: interaction.appPermissions.toString(),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': world.guildId },
      context: 0,
      attachment_size_limit: interaction.attachmentSizeLimit,
      ...(source ? { message: world.apiMessage(source) } : {}),
    });
    return interaction;
  }

  const emulator: DiscordEmulator = {
    token,
    applicationId,
    apiUrl: `${baseUrl}/api`,
    gatewayUrl,
    baseUrl,
    world,
    gateway: gw,
    requests,
    cdnRequests,
    users,
    generalChannelId: world.generalChannelId,
    setUploadLimit(bytes) {
      settings.uploadLimitBytes = bytes;
    },
    rateLimit(rule) {
      rateLimits.push({ ...rule });
    },
    slowResponses(rule) {
      slowResponses.push({ ...rule });
    },
    denyBotPermissions(bits, channelId) {
      if (channelId) {
        const channel = world.channels.get(channelId);
        if (!channel) throw new Error(`emulator: no channel ${channelId}`);
        channel.botDeny |= bits;
        gw.dispatch(channel.parentId ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE', world.apiChannel(channel));
      } else {
        world.botPermissions &= ~bits;
        const role = world.apiRoles().find((r) => r['id'] === world.botRoleId());
        gw.dispatch('GUILD_ROLE_UPDATE', { guild_id: world.guildId, role: role ?? {} });
      }
    },
    grantBotPermissions(bits, channelId) {
      if (channelId) {
        const channel = world.channels.get(channelId);
        if (!channel) throw new Error(`emulator: no channel ${channelId}`);
        channel.botDeny &= ~bits;
        gw.dispatch(channel.parentId ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE', world.apiChannel(channel));
      } else {
        world.botPermissions |= bits;
        const role = world.apiRoles().find((r) => r['id'] === world.botRoleId());
        gw.dispatch('GUILD_ROLE_UPDATE', { guild_id: world.guildId, role: role ?? {} });
      }
    },
    revokeToken(interaction) {
      interaction.tokenRevoked = true;
    },
    slashCommand(user, name, values, init = {}) {
      const command = world.commands.find((c) => c.name === name && (c.guildId === world.guildId || c.guildId === null));
      if (!command) throw new Error(`emulator: /${name} is not registered (register commands first, as Discord requires)`);
      const resolvedAttachments: Record<string, unknown> = {};
      const options = Object.entries(values).map(([optionName, value]) => {
        const declared = command.options.find((o) => o.name === optionName);
        if (!declared) throw new Error(`emulator: /${name} has no option "${optionName}"`);
        // An attachment option's value is the id of a file the person uploaded; Discord resolves it in data.resolved.
        if (declared.type === ATTACHMENT_OPTION_TYPE) {
          const attachment = world.attachments.get(String(value));
          if (!attachment) throw new Error(`emulator: no uploaded attachment ${String(value)} (use uploadAttachment first)`);
          resolvedAttachments[attachment.id] = world.apiAttachment(attachment);
        }
        return { name: optionName, type: declared.type, value };
      });
      const resolved = Object.keys(resolvedAttachments).length ? { resolved: { attachments: resolvedAttachments } } : {};
      return newInteraction(user, 2, { id: command.id, name, type: 1, guild_id: world.guildId, options, ...resolved }, init);
    },
    autocomplete(user, name, values, focused, init = {}) {
      const command = world.commands.find((c) => c.name === name && (c.guildId === world.guildId || c.guildId === null));
      if (!command) throw new Error(`emulator: /${name} is not registered (register commands first, as Discord requires)`);
      const declaredFocus = command.options.find((o) => o.name === focused);
      if (!declaredFocus?.autocomplete) throw new Error(`emulator: option "${focused}" of /${name} is not registered with autocomplete`);
      const options = Object.entries(values).map(([optionName, value]) => {
        const declared = command.options.find((o) => o.name === optionName);
        if (!declared) throw new Error(`emulator: /${name} has no option "${optionName}"`);
        // Discord sends the focused option's partial input as a string, whatever the option's type.
        return { name: optionName, type: declared.type, value: optionName === focused ? String(value) : value, ...(optionName === focused ? { focused: true } : {}) };
      });
      return newInteraction(user, 4, { id: command.id, name, type: 1, guild_id: world.guildId, options }, init);
    },
    uploadAttachment(data, filename, contentType, opts = {}) {
      const id = ids.next();
      const attachment: EmuAttachment = {
        id,
        filename,
        contentType,
        size: opts.declaredSize ?? data.length,
        data,
        url: opts.url ?? `${baseUrl}/attachments/${id}/${encodeURIComponent(filename)}`,
        ...(opts.chunked ? { chunked: true } : {}),
        ...(opts.delayMs ? { delayMs: opts.delayMs } : {}),
        ...(opts.redirectTo ? { redirectTo: opts.redirectTo } : {}),
      };
      world.attachments.set(id, attachment);
      return attachment;
    },
    clickButton(user, messageId, customId, init = {}) {
      const message = world.messages.get(messageId);
      if (!message) throw new Error(`emulator: no message ${messageId}`);
      const exists = JSON.stringify(message.components).includes(JSON.stringify(customId));
      if (!exists) throw new Error(`emulator: message ${messageId} has no component "${customId}"`);
      return newInteraction(user, 3, { custom_id: customId, component_type: 2 }, { ...init, messageId });
    },
    submitModal(user, customId, fields, init = {}) {
      const components = Object.entries(fields).map(([id, value]) => ({ type: 1, components: [{ type: 4, custom_id: id, value }] }));
      return newInteraction(user, 5, { custom_id: customId, components }, init);
    },
    postMessage(user, channelId, content) {
      if (!world.channels.has(channelId)) throw new Error(`emulator: no channel ${channelId}`);
      const mentions = [...content.matchAll(/<@!?(\d+)>/g)].flatMap((m) => {
        const u = world.users.get(m[1] ?? '');
        return u ? [u] : [];
      });
      const message = world.addMessage({ channelId, author: user, content, mentions });
      gw.dispatch('MESSAGE_CREATE', { ...world.apiMessage(message), member: memberPayload(user) });
      return message;
    },
    messagesIn: (channelId) => world.messagesIn(channelId).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)),
    originalMessage: (interaction) => (interaction.originalMessageId ? world.messages.get(interaction.originalMessageId) : undefined),
    waitForRequest(match, timeoutMs = 30_000) {
      const found = requests.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('request', listener);
          reject(new Error(`emulator: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (entry: RecordedRequest) => {
          if (!match(entry)) return;
          clearTimeout(timer);
          events.off('request', listener);
          resolve(entry);
        };
        events.on('request', listener);
      });
    },
    async waitFor(probe, timeoutMs = 30_000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value) return value as never;
        if (Date.now() > deadline) throw new Error(`emulator: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await gw.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;
}
