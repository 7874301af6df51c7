// Where a job family's clips go: the thread the command came from, or a thread started on the reply (or on the
// person's message, for @mentions). Opened once, lazily, and shared by the job and every job spawned from it
// (variants, rerolls, refinements). When threads are not allowed, the channel itself hosts the clips, with a note.
import { ThreadAutoArchiveDuration, type Message, type SendableChannels, type TextChannel, type NewsChannel, type AnyThreadChannel } from 'discord.js';
import type { Logger } from '../core/logger.ts';
import { apiCode, DiscordCode, isMissingPermission } from './errors.ts';
import { truncate } from './format.ts';

export interface ClipPlace {
  readonly channel: SendableChannels;
  /** True when `channel` is a thread (follow-ups there refine the clip). */
  readonly isThread: boolean;
  /** Said next to the clip when the place is a fallback. */
  readonly note?: string;
}

export class ThreadHost {
  private pending: Promise<ClipPlace> | undefined;

  constructor(private readonly open: () => Promise<ClipPlace>) {}

  /** An already known place (the command ran inside a thread). */
  static fixed(place: ClipPlace): ThreadHost {
    return new ThreadHost(async () => place);
  }

  get(): Promise<ClipPlace> {
    this.pending ??= this.open().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }
}

export function threadName(prompt: string): string {
  const clean = prompt.replace(/\s+/g, ' ').trim() || 'animation';
  return truncate(`🎬 ${clean}`, 100);
}

type ThreadParent = TextChannel | NewsChannel;

/** Starts (or finds) the thread on `messageId` in `parent`; falls back to the channel when threads are not allowed. */
export async function openThreadOn(parent: ThreadParent, messageId: () => Promise<string>, name: string, logger: Logger): Promise<ClipPlace> {
  const id = await messageId();
  try {
    const thread: AnyThreadChannel = await parent.threads.create({ startMessage: id, name, autoArchiveDuration: ThreadAutoArchiveDuration.OneDay });
    return { channel: thread, isThread: true };
  } catch (error) {
    if (apiCode(error) === DiscordCode.ThreadAlreadyCreated) {
      const existing = await parent.client.channels.fetch(id);
      if (existing?.isThread()) return { channel: existing, isThread: true };
    }
    if (isMissingPermission(error)) {
      logger.warn(`cannot start a thread in #${parent.name}: missing permission; posting clips in the channel`);
      return { channel: parent, isThread: false, note: 'I may not create threads here (missing **Create Public Threads**), so the clip is posted in the channel.' };
    }
    throw error;
  }
}

/** The thread or channel a message/interaction came from, as a place for clips. */
export function isThreadParent(channel: unknown): channel is ThreadParent {
  if (typeof channel !== 'object' || channel === null || !('threads' in channel)) return false;
  const probe = channel as unknown as { isThread?: () => boolean };
  return typeof probe.isThread === 'function' && !probe.isThread();
}

export function messageIdOf(message: Message): () => Promise<string> {
  return async () => message.id;
}
