// Turns what the Slack Web API refuses into BotErrors a person can act on. The platform's own code is kept
// (PlatformError.platformCode) for logs; the message says what is wrong and who can fix it.
import { WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebAPIHTTPError } from '@slack/web-api';
import { BotError, PlatformError } from '../core/errors.ts';
import { megabytes } from '../core/format.ts';

export interface SlackErrorContext {
  /** What we were doing, for the message ("post in this channel", "upload the clip"). */
  doing: string;
  /** Size of the file being uploaded, for file_too_large. */
  fileBytes?: number;
  /** The workspace limit we know of, for file_too_large. */
  maxUploadBytes?: number;
}

export function slackErrorCode(err: unknown): string | undefined {
  if (err instanceof WebAPIPlatformError) return typeof err.data.error === 'string' ? err.data.error : undefined;
  if (err instanceof WebAPIRateLimitedError) return 'ratelimited';
  return undefined;
}

export function clipTooLargeError(fileBytes: number, maxUploadBytes: number | undefined, platformCode?: string): PlatformError {
  const limit = maxUploadBytes !== undefined ? ` (the limit is ${megabytes(maxUploadBytes)})` : '';
  return new PlatformError(
    `The clip is ${megabytes(fileBytes)}, over this workspace's upload limit${limit}. Try fewer frames (--duration or --frames), a smaller --aspect, or fewer --variants.`,
    platformCode ?? 'file_too_large',
  );
}

/** A BotError for anything the Web API client threw. */
export function toSlackBotError(err: unknown, context: SlackErrorContext): BotError {
  if (err instanceof BotError) return err;
  const code = slackErrorCode(err);
  if (err instanceof WebAPIPlatformError) {
    const data = err.data as { error?: string; needed?: string };
    switch (code) {
      case 'missing_scope':
        return new PlatformError(
          `I could not ${context.doing}: the Slack app lacks the "${data.needed ?? 'required'}" permission. A workspace admin needs to add that scope (see bots/slack/manifest.yaml) and reinstall the app.`,
          code,
          { cause: err },
        );
      case 'not_in_channel':
      case 'channel_not_found':
        return new PlatformError(`I could not ${context.doing}: I am not a member of this channel. Invite me with \`/invite @Animate\` and try again.`, code, { cause: err });
      case 'is_archived':
        return new PlatformError(`I could not ${context.doing}: this channel is archived.`, code, { cause: err });
      case 'file_too_large':
        return clipTooLargeError(context.fileBytes ?? 0, context.maxUploadBytes, code);
      case 'invalid_auth':
      case 'not_authed':
      case 'token_revoked':
      case 'account_inactive':
        return new PlatformError(`I could not ${context.doing}: the app's Slack token was refused (${code}). Check SLACK_BOT_TOKEN.`, code, { cause: err });
      default:
        return new PlatformError(`I could not ${context.doing}: Slack answered "${code ?? 'an error'}".`, code, { cause: err });
    }
  }
  if (err instanceof WebAPIRateLimitedError) {
    return new PlatformError(`I could not ${context.doing}: Slack is rate limiting this app. Try again in ${err.retryAfter} s.`, 'ratelimited', {
      cause: err,
      retryAfterSeconds: err.retryAfter,
    });
  }
  if (err instanceof WebAPIRequestError || err instanceof WebAPIHTTPError) {
    return new PlatformError(`I could not ${context.doing}: Slack could not be reached (${err.message}).`, err.code, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new PlatformError(`I could not ${context.doing} (${detail}).`, undefined, { cause: err });
}
