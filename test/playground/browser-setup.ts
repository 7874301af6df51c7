// The set-up the playground's browser tests share (#24 review, finding 23): a fixture daemon with the fast "fixture"
// model and a "slow" one (so a job lasts long enough to watch), the real bot core and playground server on it, and
// Debian's headless Chromium on the page, connected (its SSE stream live). One place, so each browser test states
// only what differs (the daemon's slots, the viewport) and closes everything the same way.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createBotCore, type BotCore } from '../../bots/core/bot.ts';
import { silentLogger } from '../../bots/core/logger.ts';
import { startPlayground, type RunningPlayground } from '../../bots/playground/server.ts';
import { buildFixturePackage } from '../fixtures/fixture-model.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.ts';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';
import type { AnimatorConnection } from '../../shared/rpc/client.ts';

export interface BrowserPlaygroundOptions {
  /** Prefix of the temporary folders (the slow model's, Chromium's profile), e.g. 'pg-edges'. */
  tmpPrefix: string;
  /** Jobs the daemon runs at once. Default 2; 1 makes a second request wait (the queue wording). */
  concurrency?: number;
  /** Chromium's window size. Default: playwright's (1280×720). */
  viewport?: { width: number; height: number };
  /** More packages for the daemon, by name: each builder writes one into the folder it is given (e.g. the Wan fixture). */
  models?: Record<string, (dir: string) => Promise<unknown>>;
  /** Wraps the daemon connection the bot core uses (e.g. a recorder of the requests sent). Default: as it is. */
  connection?: (connection: AnimatorConnection) => AnimatorConnection;
}

export interface BrowserPlayground {
  fx: FixtureDaemon;
  core: BotCore;
  playground: RunningPlayground;
  context: BrowserContext;
  page: Page;
  /** Types `text` into the message box and presses Enter, as a person does. */
  send(text: string): Promise<void>;
  /** Closes the browser, the playground, the core and the daemon, and removes the temporary folders. Safe after a failed start. */
  close(): Promise<void>;
}

export async function startBrowserPlayground(options: BrowserPlaygroundOptions): Promise<BrowserPlayground> {
  const parts: Partial<BrowserPlayground> & { slowDir?: string; userDataDir?: string } = {};
  const close = async () => {
    await parts.context?.close();
    await parts.playground?.close();
    await parts.core?.close();
    await parts.fx?.close();
    if (parts.slowDir) await rm(parts.slowDir, { recursive: true, force: true });
    if (parts.userDataDir) rmSync(parts.userDataDir, { recursive: true, force: true });
  };
  try {
    parts.slowDir = await mkdtemp(path.join(os.tmpdir(), `${options.tmpPrefix}-slow-`));
    await buildFixturePackage(path.join(parts.slowDir, 'slow'), { name: 'slow', burnMs: 80 });
    const extra = Object.entries(options.models ?? {});
    for (const [name, build] of extra) await build(path.join(parts.slowDir, name));
    const fx = (parts.fx = await startFixtureDaemon({
      fixture: { defaults: { width: 64, height: 64, frames: 9, steps: 6 } },
      daemon: { modelDirs: ['slow', ...extra.map(([name]) => name)].map((name) => path.join(parts.slowDir!, name)), concurrency: options.concurrency ?? 2 },
    }));
    const connection = options.connection ? options.connection(fx.client) : fx.client;
    const core = (parts.core = createBotCore({ connection, logger: silentLogger }));
    const playground = (parts.playground = await startPlayground({ core, port: 0, logger: silentLogger }));
    parts.userDataDir = mkdtempSync(path.join(os.tmpdir(), `${options.tmpPrefix}-chromium-`));
    const context = (parts.context = await chromium.launchPersistentContext(parts.userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      ...(options.viewport ? { viewport: options.viewport } : {}),
    }));
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(playground.url);
    await page.locator('#connection.live').waitFor();
    const send = async (text: string) => {
      await page.fill('#input', text);
      await page.press('#input', 'Enter');
    };
    return { fx, core, playground, context, page, send, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
