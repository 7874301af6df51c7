// The Slack Web API emulator itself, driven by the real @slack/web-api client: if these fail, the Slack
// front-end tests cannot be trusted.
import { WebClient, ErrorCode, type WebAPIPlatformError } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from './emulator/api-emulator.ts';
import { slackSignature } from './emulator/signing.ts';

let emulator: SlackEmulator;
let client: WebClient;

beforeEach(async () => {
  emulator = await startSlackEmulator();
  client = new WebClient(emulator.botToken, { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 10 } });
});
afterEach(async () => {
  await emulator.close();
});

describe('Slack Web API emulator', () => {
  it('posts, threads and updates messages, keeping every version', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'hello' });
    const reply = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'in thread', thread_ts: parent.ts! });
    await client.chat.update({ channel: 'C0GENERAL', ts: reply.ts!, text: 'edited', blocks: [{ type: 'divider' }] });
    const thread = emulator.thread('C0GENERAL', parent.ts!);
    expect(thread).toHaveLength(1);
    expect(thread[0]!.text).toBe('edited');
    expect(thread[0]!.history.map((h) => h.text)).toEqual(['in thread', 'edited']);
    expect(thread[0]!.blocks).toEqual([{ type: 'divider' }]);
    expect(emulator.callsOf('chat.update')[0]!.params.ts).toBe(reply.ts);
  });

  it('runs the three-step external upload into a thread and keeps the bytes', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'clip below' });
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const result = await client.filesUploadV2({
      channel_id: 'C0GENERAL',
      thread_ts: parent.ts!,
      file: bytes,
      filename: 'clip.mp4',
      title: 'a clip',
      initial_comment: 'here it is',
    });
    expect(result.ok).toBe(true);
    expect(emulator.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'files.getUploadURLExternal', 'files.completeUploadExternal']);
    expect(emulator.uploads).toHaveLength(1);
    expect(emulator.uploads[0]!.bytes.equals(bytes)).toBe(true);
    const [message] = emulator.thread('C0GENERAL', parent.ts!);
    expect(message!.text).toBe('here it is');
    const file = emulator.state.files.get(message!.fileIds[0]!);
    expect(file).toMatchObject({ filename: 'clip.mp4', title: 'a clip', completed: true, threadTs: parent.ts, declaredLength: 5000 });
  });

  it('answers 429 with Retry-After, and the client waits that long before retrying', async () => {
    emulator.rateLimit('chat.postMessage', 1);
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'after the limit' });
    const calls = emulator.callsOf('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('refuses with Slack errors: missing scope, not in channel, too large, bad token', async () => {
    emulator.scopes.delete('files:write');
    const missing = await client.files.getUploadURLExternal({ filename: 'x.mp4', length: 10 }).catch((e: WebAPIPlatformError) => e);
    expect((missing as WebAPIPlatformError).code).toBe(ErrorCode.PlatformError);
    expect((missing as WebAPIPlatformError).data).toMatchObject({ error: 'missing_scope', needed: 'files:write' });
    emulator.scopes.add('files:write');

    const outside = await client.chat.postMessage({ channel: 'C0OUTSIDE', text: 'x' }).catch((e: WebAPIPlatformError) => e);
    expect((outside as WebAPIPlatformError).data.error).toBe('not_in_channel');

    emulator.maxFileBytes = 100;
    const big = await client.files.getUploadURLExternal({ filename: 'x.mp4', length: 101 }).catch((e: WebAPIPlatformError) => e);
    expect((big as WebAPIPlatformError).data.error).toBe('file_too_large');

    const stranger = new WebClient('xoxb-wrong', { slackApiUrl: emulator.apiUrl });
    const bad = await stranger.auth.test().catch((e: WebAPIPlatformError) => e);
    expect((bad as WebAPIPlatformError).data.error).toBe('invalid_auth');
  });

  it('signs like Slack: v0 HMAC-SHA256 over "v0:ts:body"', () => {
    // Known answer computed independently with: printf 'v0:1531420618:token=x' | openssl dgst -sha256 -hmac secret
    expect(slackSignature('secret', 1531420618, 'token=x')).toBe('v0=633ec74f3ea2689a9cfc1fa49494a96b74ad596089378b53ceb9a899f9c799b9');
  });
});
