// In-memory workspace state of the Slack Web API emulator: channels, users, messages, files.
// Kept apart from the HTTP layer so tests can read it directly for assertions.

export interface EmulatedUser {
  id: string;
  name: string;
  isAdmin: boolean;
}

export interface EmulatedChannel {
  id: string;
  name: string;
  /** Whether the bot user is a member; posting elsewhere fails with not_in_channel. */
  botIsMember: boolean;
  members: string[];
}

export interface EmulatedFile {
  id: string;
  filename: string;
  /** The length declared to files.getUploadURLExternal. */
  declaredLength: number;
  /** Bytes received at the upload URL (undefined until the upload POST arrives). */
  bytes?: Buffer;
  uploadedFilename?: string;
  uploadedAt?: number;
  completed: boolean;
  title?: string;
  channelId?: string;
  threadTs?: string;
  initialComment?: string;
  deleted: boolean;
  /** Files a person shared (shareFile): their type, who shared them, and how the file host answers. */
  mimetype?: string;
  userId?: string;
  /** Served without Content-Length (chunked). */
  chunked?: boolean;
  /** The file host waits this long before answering. */
  delayMs?: number;
  /** url_private as events report it (default the emulator's own file host). */
  urlPrivate?: string;
}

export interface EmulatedMessage {
  channel: string;
  ts: string;
  /** Set for replies; equals the parent's ts. */
  threadTs?: string;
  user: string;
  text: string;
  blocks?: unknown[];
  fileIds: string[];
  /** Every version of the message: index 0 is the original, later ones come from chat.update. */
  history: { at: number; text: string; blocks?: unknown[] }[];
  deleted: boolean;
}

export interface EmulatedEphemeral {
  channel: string;
  user: string;
  text: string;
  threadTs?: string;
  blocks?: unknown[];
  at: number;
}

export interface EmulatedView {
  id: string;
  triggerId: string;
  view: Record<string, unknown>;
  at: number;
}

export class WorkspaceState {
  readonly users = new Map<string, EmulatedUser>();
  readonly channels = new Map<string, EmulatedChannel>();
  readonly messages: EmulatedMessage[] = [];
  readonly ephemerals: EmulatedEphemeral[] = [];
  readonly files = new Map<string, EmulatedFile>();
  readonly views: EmulatedView[] = [];
  private tsCounter = 0;
  private idCounter = 0;

  /** Slack timestamps are "seconds.micro" strings, unique per channel; a counter keeps them strictly increasing. */
  nextTs(now: number): string {
    this.tsCounter += 1;
    return `${Math.floor(now / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  nextId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}${String(this.idCounter).padStart(8, '0')}`;
  }

  findMessage(channel: string, ts: string): EmulatedMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts && !m.deleted);
  }

  /** Replies in a thread (not counting the parent), oldest first. */
  thread(channel: string, threadTs: string): EmulatedMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === threadTs && !m.deleted);
  }

  /** Top-level messages of a channel, oldest first. */
  channelMessages(channel: string): EmulatedMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === undefined && !m.deleted);
  }
}
