// The same front-end over Socket Mode (SLACK_MODE=socket): Bolt's real SocketModeReceiver opens a connection
// with the app-level token through apps.connections.open on the emulator, gets envelopes over a real WebSocket
// and acks them; the job still ends as an MP4 in the thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { startSlackBot, type RunningSlackBot } from '../../bots/slack/index.ts';
import { probeClip } from '../../inference/media/index.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { startSlackEmulator, type SlackEmulator } from './emulator/api-emulator.ts';
import { clipsInThread, parentMessage, statusMessages } from './emulator/harness.ts';
import { SocketModeEndpoint } from './emulator/socket-mode.ts';

const CH = 'C0GENERAL';
let fx: FixtureDaemon;
let emulator: SlackEmulator;
let socket: SocketModeEndpoint;
let core: BotCore;
let bot: RunningSlackBot;

beforeAll(async () => {
  fx = await startFixtureDaemon();
  emulator = await startSlackEmulator();
  socket = new SocketModeEndpoint(emulator);
  core = createBotCore({ connection: fx.client, logger: silentLogger, limits: { perUserConcurrent: 8, perUserPerWindow: 0 } });
  bot = await startSlackBot(
    { botToken: emulator.botToken, appToken: emulator.appToken, mode: 'socket', port: 0, host: '127.0.0.1', apiUrl: emulator.apiUrl, adminUserIds: [], maxUploadBytes: 1 << 30 },
    { core, logger: silentLogger, logLevel: 'error', plugin: { limits: { minUpdateIntervalMs: 300 }, previewIntervalMs: 0 } },
  );
  await socket.connected();
});
afterAll(async () => {
  await bot?.stop().catch(() => undefined);
  await socket?.close();
  await core?.close();
  await emulator?.close();
  await fx?.close();
});

describe('Socket Mode', () => {
  it('connects with the app token, acks /animate over the socket and delivers the clip into the thread', async () => {
    expect(emulator.callsOf('apps.connections.open').map((c) => c.ok)).toEqual([true]);
    const ack = await socket.send('slash_commands', {
      token: 'legacy', team_id: emulator.teamId, channel_id: CH, channel_name: 'general', user_id: 'U0ALICE', user_name: 'alice',
      command: '/animate', text: 'a blue fish swims --seed 5 --frames 9', api_app_id: emulator.appId,
      response_url: emulator.responseUrl('socket-cmd-1'), trigger_id: 'socket.trigger.1',
    });
    expect(ack.ackMs).toBeLessThan(3000);
    const parent = await emulator.waitFor(() => parentMessage(emulator, CH, 'a blue fish swims'), 30_000, 'parent');
    const [clip] = await emulator.waitFor(() => {
      const clips = clipsInThread(emulator, CH, parent.ts);
      return clips.length ? clips : undefined;
    }, 60_000, 'clip');
    expect(clip!.message.text).toContain('seed 5');
    const probe = await probeClip(clip!.file.bytes!);
    expect(probe.codec).toBe('h264');
    expect(probe.frames).toBe(9);
    await bot.plugin.idle();
  });

  it('a redelivered event (retry_attempt 1, same event id) starts nothing more', async () => {
    const mention = `<@${emulator.botUserId}> show me a spinning top`;
    const ts = emulator.state.nextTs(Date.now());
    emulator.state.messages.push({ channel: CH, ts, user: 'U0BOB', text: mention, fileIds: [], history: [{ at: emulator.now(), text: mention }], deleted: false });
    const body = {
      token: 'legacy', team_id: emulator.teamId, api_app_id: emulator.appId, type: 'event_callback', event_id: 'Ev0SOCKET01', event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_mention', user: 'U0BOB', text: mention, channel: CH, ts, event_ts: ts },
      authorizations: [{ team_id: emulator.teamId, user_id: emulator.botUserId, is_bot: true, is_enterprise_install: false }],
    };
    const first = await socket.send('events_api', body);
    const again = await socket.send('events_api', body, { retryAttempt: 1 });
    expect(first.ackMs).toBeLessThan(3000);
    expect(again.ackMs).toBeLessThan(3000);
    await emulator.waitFor(() => clipsInThread(emulator, CH, ts).length > 0, 60_000, 'Q&A clip');
    await bot.plugin.idle();
    expect(clipsInThread(emulator, CH, ts)).toHaveLength(1);
    expect(statusMessages(emulator, CH, ts)).toHaveLength(1);
    expect(clipsInThread(emulator, CH, ts)[0]!.message.text).toContain('a spinning top');
  });
});
