// Images people share with a request on Slack: the files of the @mention itself, or else (a mention in a thread
// that has no clip yet) the latest image that person shared in the thread, read with conversations.replies. A Slack
// file's url_private needs the bot token, so the download is bounded to Slack's file host (files.slack.com, or what
// the emulator configures), by size and by time (core/image-download.ts), and the token goes to that host only.
import type { WebClient } from '@slack/web-api';
import { DEFAULT_IMAGE_MAX_BYTES, DEFAULT_IMAGE_TIMEOUT_MS, downloadImage, isImageType, type ImageAttachment } from '../core/image-download.ts';
import type { Logger } from '../core/logger.ts';
import { checkImageAttachment } from '../core/request.ts';

/** Where Slack serves url_private. */
export const SLACK_FILE_HOSTS = ['files.slack.com'] as const;

export interface SlackImageSettings {
  /** Hosts url_private may point at. Default SLACK_FILE_HOSTS. */
  hosts?: readonly string[];
  /** Plain http (emulators only). Default false. */
  allowHttp?: boolean;
  /** Default DEFAULT_IMAGE_MAX_BYTES. */
  maxBytes?: number;
  /** Default DEFAULT_IMAGE_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** The fields of a Slack file object this module reads. */
export interface SlackFile {
  id?: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
  url_private_download?: string;
  user?: string;
}

/** The first file that says it is an image (others, e.g. a PDF beside it, are not for us). */
export const firstImage = (files: readonly SlackFile[] | undefined): SlackFile | undefined => files?.find((f) => isImageType(f.mimetype));

/** Downloads a Slack file as an image with the bot token; rejects with an InvalidOptionsError for the person. */
export async function fetchSlackImage(file: SlackFile, botToken: string | undefined, settings: SlackImageSettings = {}): Promise<ImageAttachment> {
  const image = await downloadImage(file.url_private_download ?? file.url_private ?? '', {
    allowedHosts: settings.hosts ?? SLACK_FILE_HOSTS,
    allowHttp: settings.allowHttp ?? false,
    maxBytes: settings.maxBytes ?? DEFAULT_IMAGE_MAX_BYTES,
    timeoutMs: settings.timeoutMs ?? DEFAULT_IMAGE_TIMEOUT_MS,
    ...(botToken ? { headers: { authorization: `Bearer ${botToken}` } } : {}),
    declaredSize: file.size,
    declaredType: file.mimetype,
    name: file.name,
  });
  // The daemon's own limits (sides from the header too), so the person hears now rather than from the daemon.
  checkImageAttachment(image);
  return image;
}

/**
 * The latest image `userId` shared in a thread (the parent included), or undefined. Reading a thread needs the
 * channels:history scope; without it (or on any API failure) the request goes on without an image, logged.
 */
export async function latestThreadImage(client: WebClient, channel: string, threadTs: string, userId: string, logger: Logger): Promise<SlackFile | undefined> {
  try {
    const replies = await client.conversations.replies({ channel, ts: threadTs, limit: 100 });
    const messages = (replies.messages ?? []) as Array<{ user?: string; files?: SlackFile[] }>;
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i]!;
      if (message.user !== userId) continue;
      const image = firstImage(message.files);
      if (image) return image;
    }
  } catch (err) {
    logger.warn(`slack: could not read thread ${channel}/${threadTs} for an image (needs channels:history)`, err);
  }
  return undefined;
}
