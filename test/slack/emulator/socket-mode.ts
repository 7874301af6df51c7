// Socket Mode for the emulator: apps.connections.open (app-level token) hands out a ws:// URL on the emulator,
// the server says hello, and tests push envelopes (slash_commands, interactive, events_api) the way Slack does,
// resolving when the app acks the envelope.
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SlackEmulator } from './api-emulator.ts';

export interface SocketAck {
  envelopeId: string;
  payload: Record<string, unknown>;
  ackMs: number;
}

export class SocketModeEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly pending = new Map<string, { started: number; resolve: (ack: SocketAck) => void }>();
  private readonly connectWaiters: Array<() => void> = [];
  connections = 0;

  constructor(private readonly emulator: SlackEmulator) {
    emulator.addMethod('apps.connections.open', () => ({ url: `${emulator.origin.replace(/^http/, 'ws')}/socket/${randomUUID()}` }), { appToken: true });
    emulator.httpServer.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/socket/')) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    this.connections += 1;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: Record<string, unknown> };
      const waiting = message.envelope_id ? this.pending.get(message.envelope_id) : undefined;
      if (!waiting || !message.envelope_id) return;
      this.pending.delete(message.envelope_id);
      waiting.resolve({ envelopeId: message.envelope_id, payload: message.payload ?? {}, ackMs: performance.now() - waiting.started });
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: this.sockets.size, connection_info: { app_id: this.emulator.appId }, debug_info: { host: 'emulator', approximate_connection_time: 3600 } }));
    for (const waiter of this.connectWaiters.splice(0)) waiter();
  }

  /** Resolves once an app is connected. */
  connected(): Promise<void> {
    if (this.sockets.size > 0) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  /** Sends one envelope to the connected app; resolves with its ack. */
  send(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, options: { retryAttempt?: number; envelopeId?: string } = {}): Promise<SocketAck> {
    const socket = [...this.sockets][0];
    if (!socket) return Promise.reject(new Error('no Socket Mode connection'));
    const envelopeId = options.envelopeId ?? randomUUID();
    const envelope = {
      envelope_id: envelopeId,
      type,
      payload,
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api' ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryAttempt ? 'timeout' : '' } : {}),
    };
    return new Promise((resolve) => {
      this.pending.set(envelopeId, { started: performance.now(), resolve });
      socket.send(JSON.stringify(envelope));
    });
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
