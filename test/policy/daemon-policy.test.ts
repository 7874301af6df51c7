// The daemon's prompt policy over real gRPC on loopback (issue #25): every client is bound by it — a direct client
// and the real animate CLI with no bot in between, and the bot core with its own list off — refusals are
// PERMISSION_DENIED + PROMPT_REFUSED naming the field and the term, counted in animate_refusals_total and logged
// with the requester, without the prompt unless ANIMATE_LOG_PROMPTS is on; an operator's file replaces the default.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotCore } from '../../bots/core/bot.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { silentLogger as botSilent } from '../../bots/core/logger.ts';
import type { Requester } from '../../bots/core/adapter.ts';
import { createLogger } from '../../inference/log.ts';
import { ERROR_CODE_TRAILER } from '../../shared/wire/error-codes.ts';
import type { GenerateRequest } from '../../shared/rpc/types.ts';
import { collectSettled, startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');
const alice = { platform: 'DISCORD' as const, serverId: 'guild-7', userId: 'alice-42', channelId: 'c1', displayName: 'Alice' };
const quick: Partial<GenerateRequest> = { steps: 1, frames: 1, preview: { disabled: true }, formats: ['GIF'] };

let dir: string;
let plain: FixtureDaemon; // the default list, prompts kept out of the log
let custom: FixtureDaemon; // an operator's file, ANIMATE_LOG_PROMPTS on
const plainLog: string[] = [];
const customLog: string[] = [];
const jsonLogger = (into: string[]) => createLogger('info', (line) => into.push(line), 'daemon', undefined, { format: 'json' });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-policy-'));
  const file = path.join(dir, 'blocklist.txt');
  await writeFile(file, '# this server\'s list\n\nspider\n  blood bath  \n# gore is fine here\n');
  [plain, custom] = await Promise.all([
    startFixtureDaemon({ daemon: { logger: jsonLogger(plainLog) } }),
    startFixtureDaemon({ fixture: { name: 'fixture2' }, daemon: { logger: jsonLogger(customLog), blocklistFile: file, logPrompts: true } }),
  ]);
});
afterAll(async () => {
  await plain?.close();
  await custom?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const refusals = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === 'request refused');
const refusalCount = async (fx: FixtureDaemon) => Number(/^animate_refusals_total\{reason="blocklist"\} (\d+)$/m.exec(await fx.daemon.metrics.text())?.[1]);

describe("the daemon's prompt policy, for a direct client", () => {
  it('refuses a blocked prompt and a blocked negative prompt with PERMISSION_DENIED, PROMPT_REFUSED and the term', async () => {
    const before = await refusalCount(plain);
    const prompt = await collectSettled(plain.client.generate({ prompt: 'a NUDÉ statue', requester: alice, requestId: 'req-1', ...quick }));
    expect(prompt.events).toEqual([]);
    expect(prompt.error?.code).toBe(status.PERMISSION_DENIED);
    expect(prompt.error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual(['PROMPT_REFUSED']);
    expect(prompt.error?.details).toBe('prompt: refused by this server\'s content policy: it contains the blocked term "nude"');

    const negative = await collectSettled(plain.client.generate({ prompt: 'a red ball', negativePrompt: 'blurry, Gore', requester: alice, requestId: 'req-2', ...quick }));
    expect(negative.error?.code).toBe(status.PERMISSION_DENIED);
    expect(negative.error?.metadata?.get(ERROR_CODE_TRAILER)).toEqual(['PROMPT_REFUSED']);
    expect(negative.error?.details).toBe('negative_prompt: refused by this server\'s content policy: it contains the blocked term "gore"');

    // Counted, and no job was made for either.
    expect((await refusalCount(plain)) - before).toBe(2);
    expect(await plain.daemon.metrics.text()).not.toMatch(/animate_jobs_total\{outcome="failed"/);

    // Logged with the requester and the term, never the prompt's text.
    const lines = refusals(plainLog);
    expect(lines.map(({ reason, code, field, term, platform, serverId, userId, requestId }) => ({ reason, code, field, term, platform, serverId, userId, requestId }))).toEqual([
      { reason: 'blocklist', code: 'PROMPT_REFUSED', field: 'prompt', term: 'nude', platform: 'DISCORD', serverId: 'guild-7', userId: 'alice-42', requestId: 'req-1' },
      { reason: 'blocklist', code: 'PROMPT_REFUSED', field: 'negative_prompt', term: 'gore', platform: 'DISCORD', serverId: 'guild-7', userId: 'alice-42', requestId: 'req-2' },
    ]);
    const all = plainLog.join('\n');
    expect(all).not.toContain('statue');
    expect(all).not.toContain('blurry');
    expect(lines.every((l) => !('prompt' in l) && !('negativePrompt' in l))).toBe(true);
  });

  it('serves a prompt that holds no blocked term', async () => {
    const { events, error } = await collectSettled(plain.client.generate({ prompt: 'a naked-eye view of a gorey scunthorpe sky', requester: alice, ...quick }));
    // "naked" is a whole word there: refused. Without it the same near words pass.
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect(events).toEqual([]);
    const ok = await collectSettled(plain.client.generate({ prompt: 'a gorey scunthorpe sky', requester: alice, ...quick }));
    expect(ok.error).toBeUndefined();
    expect(ok.events.some((e) => e.done)).toBe(true);
  });

  it('refuses a text too long to read before reading it', async () => {
    const { error } = await collectSettled(plain.client.generate({ prompt: `a ${'x'.repeat(20_000)}`, ...quick }));
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toBe('prompt: is 20002 characters long; this daemon reads at most 20000');
  });
});

describe("an operator's blocklist file", () => {
  it('replaces the default list: its terms are refused, the default ones are not', async () => {
    const spider = await collectSettled(custom.client.generate({ prompt: 'two Spiders dance', requester: alice, requestId: 'req-3', ...quick }));
    expect(spider.error?.code).toBe(status.PERMISSION_DENIED);
    expect(spider.error?.details).toBe('prompt: refused by this server\'s content policy: it contains the blocked term "spider"');
    const phrase = await collectSettled(custom.client.generate({ prompt: 'a blood-bath', requester: alice, ...quick }));
    expect(phrase.error?.details).toBe('prompt: refused by this server\'s content policy: it contains the blocked term "blood bath"');
    const gore = await collectSettled(custom.client.generate({ prompt: 'lots of gore', requester: alice, ...quick }));
    expect(gore.error).toBeUndefined();
    expect(gore.events.some((e) => e.done)).toBe(true);
    expect(await refusalCount(custom)).toBe(2);
  });

  it('with ANIMATE_LOG_PROMPTS on, the refusal line carries the prompt, escaped', async () => {
    customLog.length = 0;
    await collectSettled(custom.client.generate({ prompt: 'a spider\nFAKE LINE', negativePrompt: 'blur', requester: alice, requestId: 'req-4', ...quick }));
    const [line] = refusals(customLog);
    expect(line).toMatchObject({ term: 'spider', userId: 'alice-42', requestId: 'req-4', prompt: 'a spider\\nFAKE LINE', negativePrompt: 'blur' });
    expect(customLog.filter((l) => l.startsWith('FAKE'))).toEqual([]);
  });
});

describe('clients see the refusal', () => {
  it('the bot core with its own list off shows the daemon\'s refusal in its own words', async () => {
    const core = createBotCore({ connection: custom.client, logger: botSilent, filter: false });
    try {
      const requester: Requester = { platform: 'plugin', userId: 'bob', displayName: 'Bob', channelId: 'c1', serverId: 's1' };
      const surface = new RecordingSurface();
      const result = await core.animate(surface, requester, { prompt: 'a spider web', steps: 1, variants: 1 });
      await result.finished;
      expect(surface.failure?.code).toBe(BotErrorCode.ContentRefused);
      expect(surface.failure?.message).toBe('Your prompt was refused by this server\'s content filter (it contains "spider"). Please rephrase it.');
      const negative = new RecordingSurface();
      await (await core.animate(negative, requester, { prompt: 'a web', negative: 'blood bath', steps: 1, variants: 1 })).finished;
      expect(negative.failure?.message).toBe('Your negative prompt was refused by this server\'s content filter (it contains "blood bath"). Please rephrase it.');
    } finally {
      await core.close();
    }
  });

  it('the animate CLI, straight to the daemon, prints the refusal and writes nothing', async () => {
    const out = path.join(dir, 'refused.mp4');
    const res = await run(TSX, ['inference/cli/animate.ts', 'a nude statue', '--daemon', plain.daemon.address, '--steps', '1', '--frames', '1', '--out', out, '--quiet'], { timeout: 60_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
    console.log(`animate CLI exit ${res.code}: ${res.stderr.trim()}`);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('it contains the blocked term "nude"');
    expect(existsSync(out)).toBe(false);
  });
});
