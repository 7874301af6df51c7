// Test harness: the real Slack front-end (Bolt's HTTP receiver on loopback) wired to the Web API emulator and
// a bot core on a real daemon, plus queries over the emulator's state that read like what a person sees.
import { createBotCore, type BotCore, type BotCoreOptions } from '../../../bots/core/bot.ts';
import { silentLogger, type Logger } from '../../../bots/core/logger.ts';
import { startSlackBot, type RunningSlackBot } from '../../../bots/slack/index.ts';
import type { SlackAnimateOptions } from '../../../bots/slack/plugin.ts';
import type { AnimatorConnection } from '../../../shared/rpc/client.ts';
import type { FetchFunction } from '@slack/web-api';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions } from './api-emulator.ts';
import { SlackSender } from './sender.ts';
import type { EmulatedFile, EmulatedMessage } from './state.ts';

export const SIGNING_SECRET = 'test-signing-secret-8f2c';

/** One Web API call as the app sent it: when its client handed it to fetch (the app's own clock), and its params. */
export interface SentCall {
  method: string;
  at: number;
  params: URLSearchParams;
}

export interface SlackHarness {
  emulator: SlackEmulator;
  /**
   * Every Web API call the app sent, timed when sent: unlike the emulator's arrival times (same process, so a busy
   * event loop delays them unevenly), these show the spacing the app chose.
   */
  sent: SentCall[];
  bot: RunningSlackBot;
  core: BotCore;
  sender: SlackSender;
  close(): Promise<void>;
}

export async function startSlackHarness(options: {
  connection: AnimatorConnection;
  emulator?: SlackEmulatorOptions;
  core?: Omit<BotCoreOptions, 'connection'>;
  plugin?: Omit<SlackAnimateOptions, 'core'>;
  maxUploadBytes?: number;
  adminUserIds?: string[];
  logger?: Logger;
}): Promise<SlackHarness> {
  const emulator = await startSlackEmulator(options.emulator);
  const sent: SentCall[] = [];
  const recordingFetch: FetchFunction = (url, init) => {
    const method = String(url).split('/').pop() ?? '';
    sent.push({ method, at: Date.now(), params: new URLSearchParams(typeof init?.body === 'string' ? init.body : '') });
    return (fetch as unknown as FetchFunction)(url, init);
  };
  const logger = options.logger ?? silentLogger;
  const core = createBotCore({ connection: options.connection, logger, limits: { perUserConcurrent: 8, perUserPerWindow: 0 }, ...options.core });
  const bot = await startSlackBot(
    {
      botToken: emulator.botToken,
      mode: 'http',
      signingSecret: SIGNING_SECRET,
      port: 0,
      host: '127.0.0.1',
      apiUrl: emulator.apiUrl,
      adminUserIds: options.adminUserIds ?? [],
      maxUploadBytes: options.maxUploadBytes ?? 1024 * 1024 * 1024,
    },
    // Shared images come from the emulator's file host (plain http on loopback), as they come from files.slack.com.
    { core, logger, logLevel: 'error', fetch: recordingFetch, plugin: { limits: { minUpdateIntervalMs: 300 }, previewIntervalMs: 0, images: { hosts: [new URL(emulator.apiUrl).host], allowHttp: true }, ...options.plugin } },
  );
  const sender = new SlackSender(emulator, bot.url!, SIGNING_SECRET);
  return {
    emulator,
    sent,
    bot,
    core,
    sender,
    async close() {
      await bot.stop().catch(() => undefined);
      await core.close();
      await emulator.close();
    },
  };
}

/** The thread parent the app posted for a prompt (top-level message in the channel). */
export function parentMessage(emulator: SlackEmulator, channel: string, promptFragment: string): EmulatedMessage | undefined {
  return emulator.state.channelMessages(channel).find((m) => m.user === emulator.botUserId && m.text.includes(promptFragment));
}

/** Files shared into a thread that are still there (not deleted), with their messages. */
export function threadFiles(emulator: SlackEmulator, channel: string, threadTs: string): { message: EmulatedMessage; file: EmulatedFile }[] {
  const out: { message: EmulatedMessage; file: EmulatedFile }[] = [];
  for (const message of emulator.thread(channel, threadTs)) {
    for (const id of message.fileIds) {
      const file = emulator.state.files.get(id);
      if (file && !file.deleted) out.push({ message, file });
    }
  }
  return out;
}

export function clipsInThread(emulator: SlackEmulator, channel: string, threadTs: string): { message: EmulatedMessage; file: EmulatedFile }[] {
  return threadFiles(emulator, channel, threadTs).filter((f) => f.file.filename.endsWith('.mp4'));
}

/** The app's status replies in a thread (the messages it edits with chat.update), oldest first. */
export function statusMessages(emulator: SlackEmulator, channel: string, threadTs: string): EmulatedMessage[] {
  return emulator.thread(channel, threadTs).filter((m) => m.user === emulator.botUserId && m.fileIds.length === 0);
}

/** action_id → value of the buttons on a message's latest version. */
export function buttonsOf(message: EmulatedMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of (message.blocks ?? []) as { type?: string; elements?: { action_id?: string; value?: string }[] }[]) {
    if (block.type !== 'actions') continue;
    for (const element of block.elements ?? []) if (element.action_id) out[element.action_id] = element.value ?? '';
  }
  return out;
}
