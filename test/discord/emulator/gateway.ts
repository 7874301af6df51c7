// The gateway half: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeat ACKs, RESUME, and dispatches that tests inject.
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { World } from './model.ts';

const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, Resume: 6, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;
const MESSAGE_CONTENT_INTENT = 1 << 15;

interface Session {
  socket: WebSocket;
  id: string;
  seq: number;
  identified: boolean;
  intents: number;
}

export interface GatewayOptions {
  token: string;
  heartbeatIntervalMs: number;
  url: () => string;
  /**
   * Whether the application may use the privileged Message Content intent (the portal's toggle). When false, an
   * IDENTIFY asking for it is closed with 4014 (Disallowed intent(s)), as Discord does. Default true.
   */
  messageContentAllowed?: boolean;
}

export class EmulatedGateway {
  private readonly server: WebSocketServer;
  private readonly sessions = new Set<Session>();
  readonly received: Array<{ op: number; d: unknown }> = [];
  private readyWaiters: Array<() => void> = [];
  private everReady = false;

  constructor(httpServer: Server, private readonly world: World, private readonly options: GatewayOptions) {
    this.server = new WebSocketServer({ server: httpServer, path: '/gateway' });
    this.server.on('connection', (socket) => this.accept(socket));
  }

  /** The intents the last IDENTIFY asked for, accepted or not (0 before any). */
  get lastIntents(): number {
    const identify = this.received.filter((p) => p.op === Op.Identify).at(-1)?.d as { intents?: number } | undefined;
    return identify?.intents ?? 0;
  }

  /** Open gateway connections (a client that was destroyed has none). */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Resolves once a client has identified and received READY. */
  whenReady(): Promise<void> {
    if (this.everReady) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  dispatch(event: string, data: Record<string, unknown>): void {
    for (const session of this.sessions) {
      if (!session.identified) continue;
      let payload = data;
      if ((event === 'MESSAGE_CREATE' || event === 'MESSAGE_UPDATE') && !(session.intents & MESSAGE_CONTENT_INTENT)) {
        // Without the Message Content intent Discord blanks content, except for messages that mention the bot.
        const mentionsBot = Array.isArray(data['mentions']) && (data['mentions'] as Array<{ id: string }>).some((u) => u.id === this.world.botUser.id);
        const own = (data['author'] as { id?: string } | undefined)?.id === this.world.botUser.id;
        if (!mentionsBot && !own) payload = { ...data, content: '' };
      }
      session.seq += 1;
      session.socket.send(JSON.stringify({ op: Op.Dispatch, t: event, s: session.seq, d: payload }));
    }
  }

  /** Drops every connection (discord.js should resume). */
  disconnectAll(code = 4000): void {
    for (const session of this.sessions) session.socket.close(code, 'emulator asked to reconnect');
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    const session: Session = { socket, id: this.world.ids.next(), seq: 0, identified: false, intents: 0 };
    this.sessions.add(session);
    socket.on('close', () => this.sessions.delete(session));
    socket.on('message', (raw) => this.onMessage(session, raw.toString()));
    socket.send(JSON.stringify({ op: Op.Hello, d: { heartbeat_interval: this.options.heartbeatIntervalMs }, s: null, t: null }));
  }

  private onMessage(session: Session, raw: string): void {
    const payload = JSON.parse(raw) as { op: number; d: Record<string, unknown> | number | null };
    this.received.push({ op: payload.op, d: payload.d });
    switch (payload.op) {
      case Op.Heartbeat:
        session.socket.send(JSON.stringify({ op: Op.HeartbeatAck, d: null, s: null, t: null }));
        return;
      case Op.Identify: {
        const d = payload.d as { token?: string; intents?: number };
        if (d.token !== this.options.token && d.token !== `Bot ${this.options.token}`) {
          session.socket.close(4004, 'Authentication failed.');
          return;
        }
        if ((d.intents ?? 0) & MESSAGE_CONTENT_INTENT && this.options.messageContentAllowed === false) {
          session.socket.close(4014, 'Disallowed intent(s).');
          return;
        }
        session.identified = true;
        session.intents = d.intents ?? 0;
        this.sendReady(session);
        return;
      }
      case Op.Resume: {
        const d = payload.d as { token?: string };
        if (d.token !== this.options.token && d.token !== `Bot ${this.options.token}`) {
          session.socket.close(4004, 'Authentication failed.');
          return;
        }
        session.identified = true;
        session.seq += 1;
        session.socket.send(JSON.stringify({ op: Op.Dispatch, t: 'RESUMED', s: session.seq, d: {} }));
        return;
      }
      default:
        return;
    }
  }

  private sendReady(session: Session): void {
    const world = this.world;
    const send = (t: string, d: unknown) => {
      session.seq += 1;
      session.socket.send(JSON.stringify({ op: Op.Dispatch, t, s: session.seq, d }));
    };
    send('READY', {
      v: 10,
      user: world.apiUser(world.botUser),
      guilds: [{ id: world.guildId, unavailable: true }],
      session_id: session.id,
      resume_gateway_url: this.options.url(),
      shard: [0, 1],
      application: { id: world.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      user_settings: {},
      guild_join_requests: [],
      presences: [],
      geo_ordered_rtc_regions: [],
      auth: {},
    });
    send('GUILD_CREATE', world.apiGuild());
    this.everReady = true;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
