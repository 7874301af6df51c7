// The "Slack → app" half of the emulator: builds slash command, interactivity and Events API requests
// the way Slack sends them, signs them with the signing secret and posts them to the app's HTTP receiver.
import { randomUUID } from 'node:crypto';
import type { SlackEmulator } from './api-emulator.ts';
import { signedHeaders } from './signing.ts';

export interface SendOptions {
  /** Sets X-Slack-Retry-Num (and X-Slack-Retry-Reason: http_timeout), as Slack does when it retries. */
  retryNum?: number;
  /** Override the signing timestamp (seconds), e.g. to send a stale request. */
  timestampSec?: number;
  /** Sign with another secret, so the signature does not match. */
  signWith?: string;
}

export interface SendResult {
  status: number;
  body: string;
  /** Milliseconds from sending until the app's HTTP response arrived (the ack). */
  ackMs: number;
}

export interface SlashCommandInput {
  text: string;
  user: string;
  channel: string;
  command?: string;
  triggerId?: string;
}

export interface BlockActionInput {
  actionId: string;
  value: string;
  user: string;
  channel: string;
  messageTs: string;
  threadTs?: string;
  blockId?: string;
  triggerId?: string;
}

export interface ViewSubmissionInput {
  user: string;
  callbackId: string;
  privateMetadata: string;
  /** block_id → action_id → value of a plain_text_input. */
  values: Record<string, Record<string, string>>;
}

export interface EventInput {
  event: Record<string, unknown>;
  eventId?: string;
}

export class SlackSender {
  private triggerCounter = 0;

  constructor(
    private readonly emulator: SlackEmulator,
    private readonly appUrl: string,
    private readonly signingSecret: string,
  ) {}

  newTriggerId(): string {
    this.triggerCounter += 1;
    return `${this.triggerCounter}.${Date.now()}.${randomUUID().slice(0, 8)}`;
  }

  async slashCommand(input: SlashCommandInput, options: SendOptions = {}): Promise<SendResult & { triggerId: string }> {
    const triggerId = input.triggerId ?? this.newTriggerId();
    const channel = this.emulator.state.channels.get(input.channel);
    const form = new URLSearchParams({
      token: 'legacy-verification-token',
      team_id: this.emulator.teamId,
      team_domain: 'emulated',
      channel_id: input.channel,
      channel_name: channel?.name ?? 'unknown',
      user_id: input.user,
      user_name: this.emulator.state.users.get(input.user)?.name ?? input.user,
      command: input.command ?? '/animate',
      text: input.text,
      api_app_id: this.emulator.appId,
      is_enterprise_install: 'false',
      response_url: this.emulator.responseUrl(`cmd-${triggerId}`),
      trigger_id: triggerId,
    });
    const result = await this.post(form.toString(), 'application/x-www-form-urlencoded', options);
    return { ...result, triggerId };
  }

  async blockAction(input: BlockActionInput, options: SendOptions = {}): Promise<SendResult & { triggerId: string }> {
    const triggerId = input.triggerId ?? this.newTriggerId();
    const payload = {
      type: 'block_actions',
      user: { id: input.user, username: input.user, name: input.user, team_id: this.emulator.teamId },
      api_app_id: this.emulator.appId,
      token: 'legacy-verification-token',
      container: { type: 'message', message_ts: input.messageTs, channel_id: input.channel, is_ephemeral: false, ...(input.threadTs ? { thread_ts: input.threadTs } : {}) },
      trigger_id: triggerId,
      team: { id: this.emulator.teamId, domain: 'emulated' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: input.channel, name: this.emulator.state.channels.get(input.channel)?.name ?? 'unknown' },
      message: { type: 'message', ts: input.messageTs, text: '', user: this.emulator.botUserId, ...(input.threadTs ? { thread_ts: input.threadTs } : {}) },
      response_url: this.emulator.responseUrl(`act-${triggerId}`),
      actions: [
        {
          type: 'button',
          action_id: input.actionId,
          block_id: input.blockId ?? 'animate_actions',
          value: input.value,
          text: { type: 'plain_text', text: input.actionId },
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
    const form = new URLSearchParams({ payload: JSON.stringify(payload) });
    const result = await this.post(form.toString(), 'application/x-www-form-urlencoded', options);
    return { ...result, triggerId };
  }

  async viewSubmission(input: ViewSubmissionInput, options: SendOptions = {}): Promise<SendResult> {
    const values: Record<string, Record<string, { type: string; value: string }>> = {};
    for (const [blockId, actions] of Object.entries(input.values)) {
      values[blockId] = {};
      for (const [actionId, value] of Object.entries(actions)) values[blockId]![actionId] = { type: 'plain_text_input', value };
    }
    const payload = {
      type: 'view_submission',
      team: { id: this.emulator.teamId, domain: 'emulated' },
      user: { id: input.user, username: input.user, name: input.user, team_id: this.emulator.teamId },
      api_app_id: this.emulator.appId,
      token: 'legacy-verification-token',
      trigger_id: this.newTriggerId(),
      view: {
        id: `V${Date.now()}`,
        team_id: this.emulator.teamId,
        type: 'modal',
        callback_id: input.callbackId,
        private_metadata: input.privateMetadata,
        state: { values },
        hash: 'h',
        app_id: this.emulator.appId,
        bot_id: this.emulator.botId,
      },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const form = new URLSearchParams({ payload: JSON.stringify(payload) });
    return this.post(form.toString(), 'application/x-www-form-urlencoded', options);
  }

  async event(input: EventInput, options: SendOptions = {}): Promise<SendResult & { eventId: string }> {
    const eventId = input.eventId ?? `Ev${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
    const body = {
      token: 'legacy-verification-token',
      team_id: this.emulator.teamId,
      api_app_id: this.emulator.appId,
      event: { event_ts: `${Date.now() / 1000}`, ...input.event },
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: this.emulator.teamId, user_id: this.emulator.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
    const result = await this.post(JSON.stringify(body), 'application/json', options);
    return { ...result, eventId };
  }

  /** A user message in a channel, recorded in the emulator's state so threads look like Slack's. */
  userMessage(channel: string, user: string, text: string, threadTs?: string): { ts: string } {
    const ts = this.emulator.state.nextTs(Date.now());
    this.emulator.state.messages.push({
      channel,
      ts,
      user,
      text,
      fileIds: [],
      history: [{ at: this.emulator.now(), text }],
      deleted: false,
      ...(threadTs ? { threadTs } : {}),
    });
    return { ts };
  }

  async post(rawBody: string, contentType: string, options: SendOptions): Promise<SendResult> {
    const headers: Record<string, string> = {
      'content-type': contentType,
      ...signedHeaders(options.signWith ?? this.signingSecret, rawBody, options.timestampSec),
    };
    if (options.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(options.retryNum);
      headers['x-slack-retry-reason'] = 'http_timeout';
    }
    const started = performance.now();
    const response = await fetch(this.appUrl, { method: 'POST', headers, body: rawBody });
    const body = await response.text();
    return { status: response.status, body, ackMs: performance.now() - started };
  }
}
