// `npm start` (app/start.ts) with ANIMATE_BLOCKLIST_FILE: the embedded daemon enforces the file's list for a direct
// client, and the bot core's early, private refusals use the same list (not the built-in one), so one setting governs both.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAll } from '../../app/start.ts';
import { BotErrorCode } from '../../bots/core/errors.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import type { Requester } from '../../bots/core/adapter.ts';
import { loadConfig } from '../../shared/config/index.ts';
import { connectAnimator } from '../../shared/rpc/client.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { collectSettled } from '../helpers/fixture-daemon.ts';
import { RecordingSurface } from '../helpers/recording-surface.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'animate-app-policy-'));
  await buildFixturePackage(path.join(dir, 'models', 'fixture'));
  await writeFile(path.join(dir, 'blocklist.txt'), 'spider\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm start with ANIMATE_BLOCKLIST_FILE', () => {
  it('the daemon and the bot core both refuse by the file, and neither by the built-in list', async () => {
    const config = loadConfig(
      { ANIMATE_MODELS_DIR: path.join(dir, 'models'), ANIMATE_DEFAULT_MODEL: 'fixture', ANIMATE_LISTEN: '127.0.0.1:0', PLAYGROUND_PORT: '0', ANIMATE_BLOCKLIST_FILE: path.join(dir, 'blocklist.txt'), ANIMATE_LOG_LEVEL: 'error' },
      [],
      { dotenv: false, cwd: dir },
    );
    const running = await startAll(config, { print: () => {}, logger: silentLogger });
    const address = /grpc:\/\/(\S+)/.exec(running.services.find((s) => s.name === 'Daemon')!.where)![1]!;
    const client = connectAnimator(address);
    try {
      const direct = await collectSettled(client.generate({ prompt: 'a spider', steps: 1, frames: 1 }));
      expect(direct.error?.code).toBe(status.PERMISSION_DENIED);
      expect(direct.error?.details).toBe('prompt: refused by this server\'s content policy: it contains the blocked term "spider"');

      const requester: Requester = { platform: 'plugin', userId: 'ann', displayName: 'Ann', channelId: 'c', serverId: 's' };
      const early = new RecordingSurface();
      await (await running.core.animate(early, requester, { prompt: 'two spiders', steps: 1, variants: 1 })).finished;
      // Refused by the bot's own copy of the list: at once, with nothing shown before the refusal.
      expect(early.kinds()).toEqual(['fail']);
      expect(early.failure?.code).toBe(BotErrorCode.ContentRefused);
      expect(early.failure?.message).toBe('Your prompt was refused by this server\'s content filter (it contains "spider"). Please rephrase it.');

      const gore = new RecordingSurface();
      await (await running.core.animate(gore, requester, { prompt: 'gore', steps: 1, frames: 1, variants: 1 })).finished;
      expect(gore.failure).toBeUndefined();
      expect(gore.clip).toBeDefined();
    } finally {
      client.close();
      await running.stop();
    }
  });
});
